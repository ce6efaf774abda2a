import { describe, expect, it } from 'vitest';
import {
  type Attempt,
  type Decision,
  decide,
  expiredCount,
  FIRST_ATTEMPT,
  retryDelayMs,
} from '../../../local/event-source/delivery-decision.ts';

const functionError = (records: number) => ({ records, failedFrom: 0 });

/** Fails a batch on every invocation, from the first attempt, until the decision is no longer a retry. */
function failEveryTime(records: number, settings: Parameters<typeof decide>[2]): Decision[] {
  const decisions: Decision[] = [];
  let attempt: Attempt = FIRST_ATTEMPT;
  for (;;) {
    const decision = decide(attempt, functionError(records), settings);
    decisions.push(decision);
    if (decision.kind !== 'retry') return decisions;
    attempt = decision.next;
  }
}

describe('decide', () => {
  it('commits a batch the function processed', () => {
    const decision = decide(FIRST_ATTEMPT, { records: 10 }, { retryAttempts: 2, bisectBatchOnError: true });

    expect(decision).toEqual({ kind: 'commit' });
  });

  it('retries a record that fails until the retry quota is used, then gives it up', () => {
    // GIVEN 2 retries and a one-record batch the function fails every time
    // WHEN each decision is carried out
    const decisions = failEveryTime(1, { retryAttempts: 2, bisectBatchOnError: true });

    // THEN it is retried twice, and given up after its third invocation
    expect(decisions).toEqual([
      { kind: 'retry', processed: 0, next: { retries: 1, invocations: 1 } },
      { kind: 'retry', processed: 0, next: { retries: 2, invocations: 2 } },
      { kind: 'give-up', processed: 0, condition: 'RetryAttemptsExhausted', invocations: 3 },
    ]);
  });

  it('bisects a failing batch without consuming the retry quota', () => {
    // GIVEN a batch of 10 that has used 1 retry in 2 invocations
    const attempt = { retries: 1, invocations: 2 };

    // WHEN the function fails it with bisect on
    const decision = decide(attempt, functionError(10), { retryAttempts: 2, bisectBatchOnError: true });

    // THEN both halves of 5 carry on with 1 retry used and the invocation counted
    expect(decision).toEqual({ kind: 'bisect', at: 5, next: { retries: 1, invocations: 3 } });
  });

  it('bisects a batch that has used its whole retry quota', () => {
    const decision = decide({ retries: 2, invocations: 3 }, functionError(2), {
      retryAttempts: 2,
      bisectBatchOnError: true,
    });

    expect(decision).toMatchObject({ kind: 'bisect', at: 1 });
  });

  it('puts the larger half of an odd batch first', () => {
    const decision = decide(FIRST_ATTEMPT, functionError(7), { retryAttempts: 2, bisectBatchOnError: true });

    expect(decision).toMatchObject({ kind: 'bisect', at: 4 });
  });

  it('retries the whole batch when bisect is off', () => {
    const decision = decide(FIRST_ATTEMPT, functionError(10), { retryAttempts: 2, bisectBatchOnError: false });

    expect(decision).toEqual({ kind: 'retry', processed: 0, next: { retries: 1, invocations: 1 } });
  });

  it('resumes after a partial batch response from the first failed record, without bisecting', () => {
    // GIVEN a batch of 6 whose function reported record 3 as failed
    const outcome = { records: 6, failedFrom: 3 };

    // WHEN the decision is taken with bisect on
    const decision = decide(FIRST_ATTEMPT, outcome, { retryAttempts: 2, bisectBatchOnError: true });

    // THEN records 0-2 are done and 3-5 are retried, which uses the quota
    expect(decision).toEqual({ kind: 'retry', processed: 3, next: { retries: 1, invocations: 1 } });
  });

  it('gives up only the records from the first failed one when a partial response exhausts the quota', () => {
    const decision = decide(
      { retries: 2, invocations: 3 },
      { records: 6, failedFrom: 3 },
      {
        retryAttempts: 2,
        bisectBatchOnError: true,
      },
    );

    expect(decision).toEqual({ kind: 'give-up', processed: 3, condition: 'RetryAttemptsExhausted', invocations: 4 });
  });

  it('with retryAttempts -1, retries a failing record until it is older than the maximum record age', () => {
    // GIVEN retries until expiry, a maximum record age of 60 s, and a record that arrived at 0
    const settings = { retryAttempts: -1, bisectBatchOnError: true, maxRecordAgeSeconds: 60 };
    const arrivals = [0];
    let attempt: Attempt = FIRST_ATTEMPT;
    let now = 0;
    const kinds = new Set<Decision['kind']>();

    // WHEN the function fails it every time, and each retry waits the longest backoff of 2 s
    while (expiredCount(arrivals, now, settings) === 0) {
      const decision = decide(attempt, functionError(1), settings);
      kinds.add(decision.kind);
      if (decision.kind !== 'retry') break;
      attempt = decision.next;
      now += 2_000;
    }

    // THEN every decision was a retry, until the record was dropped for its age after 60 s
    expect([...kinds]).toEqual(['retry']);
    expect(now).toBe(62_000);
    expect(attempt.retries).toBe(31);
  });
});

describe('expiredCount', () => {
  it('counts the records older than the maximum record age at the front of the batch', () => {
    // GIVEN records that arrived 120, 61, 60 and 0 s ago, and a maximum age of 60 s
    const now = 1_000_000;
    const arrivals = [now - 120_000, now - 61_000, now - 60_000, now];

    // THEN the first two are expired; one exactly 60 s old is not
    expect(expiredCount(arrivals, now, { maxRecordAgeSeconds: 60 })).toBe(2);
  });

  it('counts none when the maximum record age is -1', () => {
    expect(expiredCount([0], 1e12, { maxRecordAgeSeconds: -1 })).toBe(0);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the first wait up to the longest', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((retries) => retryDelayMs(retries, { firstMs: 100, maxMs: 2_000 }));

    expect(delays).toEqual([100, 200, 400, 800, 1_600, 2_000]);
  });
});
