/**
 * The event source mapping settings of the local event source: the deployed defaults (config/event-source.ts)
 * with optional overrides, held to the ranges Lambda accepts.
 */
import { EVENT_SOURCE } from '../../config/event-source.ts';

/** The event source mapping settings, named as in config/event-source.ts. */
export interface EventSourceSettings {
  /** Records per batch, 1–10,000. */
  readonly batchSize: number;
  /** 0–300 seconds. */
  readonly maxBatchingWindowSeconds: number;
  /** Retries of a batch that cannot be split any further, -1 (until the record expires) to 10,000. */
  readonly retryAttempts: number;
  readonly bisectBatchOnError: boolean;
  /** -1 (never) or 60–604,800 seconds. */
  readonly maxRecordAgeSeconds: number;
  /** Honour `{ batchItemFailures }` responses (FunctionResponseTypes: ReportBatchItemFailures). */
  readonly reportBatchItemFailures: boolean;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

/** The deployed settings with `overrides` applied; throws a RangeError naming the first value Lambda would refuse. */
export function resolveSettings(overrides: Partial<EventSourceSettings> = {}): EventSourceSettings {
  const settings: EventSourceSettings = {
    batchSize: EVENT_SOURCE.batchSize,
    maxBatchingWindowSeconds: EVENT_SOURCE.maxBatchingWindowSeconds,
    retryAttempts: EVENT_SOURCE.retryAttempts,
    bisectBatchOnError: EVENT_SOURCE.bisectBatchOnError,
    maxRecordAgeSeconds: EVENT_SOURCE.maxRecordAgeSeconds,
    reportBatchItemFailures: EVENT_SOURCE.reportBatchItemFailures,
    startingPosition: EVENT_SOURCE.startingPosition,
    ...overrides,
  };
  const { batchSize, maxBatchingWindowSeconds: window, retryAttempts, maxRecordAgeSeconds: age } = settings;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new RangeError(`batch size must be between 1 and 10000 inclusive (given ${batchSize})`);
  }
  if (!(window >= 0 && window <= 300)) {
    throw new RangeError(`maxBatchingWindowSeconds must be between 0 and 300 inclusive (given ${window})`);
  }
  if (!Number.isInteger(retryAttempts) || retryAttempts < -1 || retryAttempts > 10_000) {
    throw new RangeError(`retryAttempts must be -1 (retry until expiry) or 0 to 10000 (given ${retryAttempts})`);
  }
  if (!(age === -1 || (Number.isInteger(age) && age >= 60 && age <= 604_800))) {
    throw new RangeError(`maxRecordAgeSeconds must be -1 (no limit) or 60 to 604800 (given ${age})`);
  }
  return settings;
}
