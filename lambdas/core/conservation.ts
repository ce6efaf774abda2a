/**
 * The pipeline's event counters, summed over shards: what /status shows so that anyone can check that
 * nothing was lost. accepted = processed + deadLettered + givenUp + inFlight; late events are part of
 * processed.
 */
import type { BatchCounters } from './batch-aggregator.ts';

export interface PipelineCounters {
  readonly accepted: number;
  readonly rejected: number;
  readonly processed: number;
  readonly late: number;
  readonly deadLettered: number;
  /**
   * Events in batches the event source mapping gave up on and that were not redriven yet (where known: the
   * records are read back from the stream when the batch is recorded). A redriven batch's events are in
   * processed (or deadLettered) instead.
   */
  readonly givenUp: number;
  /**
   * Events of records dropped as repeats of records already applied (a request retried with its
   * Idempotency-Key after ingest wrote it but died before answering). Not part of the balance: the retry's
   * events are counted accepted once, when it succeeds, like the first attempt's would have been.
   */
  readonly duplicates: number;
  /**
   * Accepted at the API but not yet read by the aggregator. Negative when other producers write to the
   * stream directly: their events are processed without having been accepted by the API.
   */
  readonly inFlight: number;
}

export function pipelineCounters(
  shards: ReadonlyArray<{ readonly counters: BatchCounters }>,
  ingest: { readonly accepted: number; readonly rejected: number },
  viewNames: readonly string[],
  givenUp = 0,
): { events: PipelineCounters; lateByView: Record<string, number> } {
  let processed = 0;
  let late = 0;
  let deadLettered = 0;
  let duplicates = 0;
  const lateByView: Record<string, number> = Object.fromEntries(viewNames.map((v) => [v, 0]));
  for (const { counters } of shards) {
    processed += counters.processed;
    late += counters.late;
    deadLettered += counters.deadLettered;
    duplicates += counters.duplicates;
    for (const [view, n] of Object.entries(counters.lateByView)) lateByView[view] = (lateByView[view] ?? 0) + n;
  }
  const inFlight = ingest.accepted - processed - deadLettered - givenUp;
  const { accepted, rejected } = ingest;
  return {
    events: { accepted, rejected, processed, late, deadLettered, givenUp, duplicates, inFlight },
    lateByView,
  };
}
