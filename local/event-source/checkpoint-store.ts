/**
 * Per-shard checkpoints of the local event source mapping: the last sequence number fully processed, and
 * whether a closed shard was read to its end (its children may start only then).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ShardCheckpoint {
  /** Every record at or below this sequence number has been processed or sent to the on-failure destination. */
  readonly sequenceNumber?: string;
  /** The shard is closed and was processed to its end. */
  readonly ended?: boolean;
}

interface CheckpointFile {
  readonly streamArn: string;
  readonly streamCreatedAt: string;
  readonly shards: Record<string, ShardCheckpoint>;
}

export interface StreamIdentity {
  readonly streamArn: string;
  /** A stream recreated under the same name (an in-memory emulator restarted) gets a new creation time. */
  readonly createdAt: Date;
}

export class CheckpointStore {
  private readonly shards = new Map<string, ShardCheckpoint>();
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly stream: StreamIdentity,
  ) {}

  /** In memory only. */
  static inMemory(stream: StreamIdentity): CheckpointStore {
    return new CheckpointStore(undefined, stream);
  }

  /**
   * Opens the file and keeps its checkpoints only if they belong to this very stream: sequence numbers of a
   * recreated stream mean nothing, so a fresh stream starts again from TRIM_HORIZON.
   */
  static async open(file: string, stream: StreamIdentity): Promise<CheckpointStore> {
    const store = new CheckpointStore(file, stream);
    let saved: CheckpointFile | undefined;
    try {
      saved = JSON.parse(await readFile(file, 'utf8')) as CheckpointFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read checkpoints ${file}: ${err}`);
    }
    if (saved?.streamArn === stream.streamArn && saved.streamCreatedAt === stream.createdAt.toISOString()) {
      for (const [shardId, checkpoint] of Object.entries(saved.shards)) store.shards.set(shardId, checkpoint);
    }
    return store;
  }

  get(shardId: string): ShardCheckpoint | undefined {
    return this.shards.get(shardId);
  }

  set(shardId: string, checkpoint: ShardCheckpoint): void {
    this.shards.set(shardId, checkpoint);
    this.scheduleWrite();
  }

  /** Resolves once everything set so far is on disk; rejects if the last write failed. */
  async flush(): Promise<void> {
    for (;;) {
      const writing = this.writing;
      await writing;
      if (writing === this.writing) return;
    }
  }

  // One write at a time, each with the latest state: a burst of small batches costs a handful of writes.
  private scheduleWrite(): void {
    const file = this.file;
    if (file === undefined || this.dirty) return;
    this.dirty = true;
    // A failed write must not wedge the chain: the next change schedules another, and flush() reports it.
    this.writing = this.writing.catch(() => {}).then(() => this.write(file));
    this.writing.catch(() => {});
  }

  private async write(file: string): Promise<void> {
    this.dirty = false;
    const content: CheckpointFile = {
      streamArn: this.stream.streamArn,
      streamCreatedAt: this.stream.createdAt.toISOString(),
      shards: Object.fromEntries(this.shards),
    };
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename, so a crash mid-write never leaves a torn file behind.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(content, null, 2)}\n`);
    await rename(tmp, file);
  }
}
