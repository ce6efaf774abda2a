import { describe, expect, it } from 'vitest';
import { forEachLimited, sleep } from '../../lambdas/core/concurrency.ts';

describe('forEachLimited', () => {
  it('never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    await forEachLimited([1, 2, 3, 4, 5, 6], 2, async () => {
      most = Math.max(most, ++running);
      await sleep(5);
      running--;
    });
    expect(most).toBe(2);
  });

  it('throws the first failure only after every call in flight has settled, and starts no new one', async () => {
    const finished: number[] = [];
    const run = forEachLimited([1, 2, 3, 4], 2, async (n) => {
      if (n === 1) throw new Error('first');
      await sleep(20);
      finished.push(n);
    });
    await expect(run).rejects.toThrow('first');
    expect(finished).toEqual([2]);
  });
});
