import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../../local/event-source/settings.ts';

describe('resolveSettings', () => {
  it('defaults to the deployed event source settings', () => {
    expect(resolveSettings()).toMatchObject({ batchSize: 500, maxBatchingWindowSeconds: 1, retryAttempts: 10 });
  });

  it('names a batch size out of range', () => {
    expect(() => resolveSettings({ batchSize: 0 })).toThrow(
      'batch size must be between 1 and 10000 inclusive (given 0)',
    );
  });
});
