import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore, type StreamIdentity } from '../../../local/event-source/checkpoint-store.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'eddy-checkpoints-'));
});

const stream: StreamIdentity = {
  streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/test-checkpoints',
  createdAt: new Date('2026-01-01T00:00:00Z'),
};

describe('CheckpointStore', () => {
  it('keeps checkpoints saved for the same incarnation of the stream', async () => {
    const file = path.join(dir, 'same.json');
    const saved = await CheckpointStore.open(file, stream);
    saved.set('shardId-000000000000', { sequenceNumber: '1' });
    await saved.flush();

    const reopened = await CheckpointStore.open(file, stream);

    expect(reopened.get('shardId-000000000000')).toEqual({ sequenceNumber: '1' });
  });

  it('ignores checkpoints saved for another incarnation of the stream', async () => {
    const file = path.join(dir, 'stale.json');
    const stale = await CheckpointStore.open(file, { ...stream, createdAt: new Date(0) });
    stale.set('shardId-000000000000', { sequenceNumber: '1' });
    await stale.flush();

    const reopened = await CheckpointStore.open(file, stream);

    expect(reopened.get('shardId-000000000000')).toBeUndefined();
  });
});
