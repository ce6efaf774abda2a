/**
 * What the event source mapping does with a batch after each invocation, as Lambda does it for Kinesis:
 * commit it, split it in two, retry it, or give it up to the on-failure destination. Pure: no clock, no
 * Kinesis, no function; kinesis-event-source.ts carries the decisions out.
 *
 * - On a function error the batch is split in two (bisect) and each half retried; splitting does not consume
 *   the retry quota. A batch that cannot be split is retried up to `retryAttempts` times, or for ever at -1
 *   (until its records are older than `maxRecordAgeSeconds`).
 * - After a partial batch response the records before the first failed one are done, and the rest is retried
 *   (never split), which uses the quota like any retry.
 */
import type { EventSourceSettings } from './settings.ts';

/** How far a run of records has got; bisected halves carry on from their whole batch's. */
export interface Attempt {
  /** Retries so far: the part of the retry quota these records have used. */
  readonly retries: number;
  /** Invocations with these records so far (the on-failure record's `approximateInvokeCount`). */
  readonly invocations: number;
}

export const FIRST_ATTEMPT: Attempt = { retries: 0, invocations: 0 };

/** What one invocation with a batch of `records` records came to. */
export interface Outcome {
  readonly records: number;
  /**
   * Absent if the invocation succeeded; else the index of the first record to retry: 0 for a function error,
   * more when a partial batch response reported only later records.
   */
  readonly failedFrom?: number;
}

export type Decision =
  /** Every record was processed. */
  | { readonly kind: 'commit' }
  /** Deliver records [0, at) and then [at, records) as two batches, each from `next`. */
  | { readonly kind: 'bisect'; readonly at: number; readonly next: Attempt }
  /** The first `processed` records are done; deliver the rest again from `next`, after a backoff. */
  | { readonly kind: 'retry'; readonly processed: number; readonly next: Attempt }
  /** The first `processed` records are done; send the rest to the on-failure destination and move on. */
  | {
      readonly kind: 'give-up';
      readonly processed: number;
      readonly condition: 'RetryAttemptsExhausted';
      readonly invocations: number;
    };

/** The decision after an invocation made from `attempt` came to `outcome`. */
export function decide(
  attempt: Attempt,
  outcome: Outcome,
  settings: Pick<EventSourceSettings, 'retryAttempts' | 'bisectBatchOnError'>,
): Decision {
  const invocations = attempt.invocations + 1;
  const { failedFrom } = outcome;
  if (failedFrom === undefined) return { kind: 'commit' };
  if (failedFrom === 0 && settings.bisectBatchOnError && outcome.records > 1) {
    return { kind: 'bisect', at: Math.ceil(outcome.records / 2), next: { retries: attempt.retries, invocations } };
  }
  if (settings.retryAttempts !== -1 && attempt.retries >= settings.retryAttempts) {
    return { kind: 'give-up', processed: failedFrom, condition: 'RetryAttemptsExhausted', invocations };
  }
  return { kind: 'retry', processed: failedFrom, next: { retries: attempt.retries + 1, invocations } };
}

/**
 * How many records at the front of a batch are older than the maximum record age, given their arrival times
 * (epoch ms, oldest first). Lambda sends these to the on-failure destination without invoking the function.
 */
export function expiredCount(
  arrivalsMs: readonly number[],
  nowMs: number,
  settings: Pick<EventSourceSettings, 'maxRecordAgeSeconds'>,
): number {
  const maxAge = settings.maxRecordAgeSeconds;
  if (maxAge === -1) return 0;
  const oldest = nowMs - maxAge * 1_000;
  // Arrival times only grow along a shard, so the expired records are a prefix.
  const firstFresh = arrivalsMs.findIndex((ms) => ms >= oldest);
  return firstFresh === -1 ? arrivalsMs.length : firstFresh;
}

export interface Backoff {
  /** The wait before the first retry. */
  readonly firstMs: number;
  /** The longest wait. */
  readonly maxMs: number;
}

/** The wait before retry number `retries` (from 1): doubling from `firstMs`, at most `maxMs`. */
export function retryDelayMs(retries: number, backoff: Backoff): number {
  return Math.min(backoff.firstMs * 2 ** (retries - 1), backoff.maxMs);
}
