/** GET /failed-batches: batches the event source mappings gave up on, the most recent first, and their redrive. */
import { sortKeyCursor } from '../cursors.ts';
import { type Params, parseLimit, refuseUnknownParameters } from '../parameters.ts';
import type { ReadModel } from '../read-model.ts';
import { iso } from '../times.ts';

const PARAMETERS = ['limit', 'cursor'];

export async function failedBatches(read: ReadModel, params: Params) {
  refuseUnknownParameters(params, PARAMETERS);
  const page = await read.store.listFailedBatches(parseLimit(params.limit), sortKeyCursor.decode(params.cursor));
  return {
    failedBatches: page.batches.map((b) => ({
      source: b.source,
      shardId: b.shardId,
      startSequenceNumber: b.startSequenceNumber,
      endSequenceNumber: b.endSequenceNumber,
      records: b.records,
      events: b.events,
      reason: b.reason,
      invokeCount: b.invokeCount,
      failedAt: iso(b.failedAtMs),
      firstArrivalAt: iso(b.firstArrivalMs),
      lastArrivalAt: iso(b.lastArrivalMs),
      redrive:
        b.redrive === null
          ? null
          : {
              at: iso(b.redrive.atMs),
              shardId: b.redrive.shardId,
              processed: b.redrive.processed,
              late: b.redrive.late,
              deadLettered: b.redrive.deadLettered,
            },
    })),
    nextCursor: sortKeyCursor.encode(page.nextCursor),
  };
}
