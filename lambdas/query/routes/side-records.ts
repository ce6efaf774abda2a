/** GET /late and GET /dead-letters: the events set aside, each with where it arrived and why, newest first. */
import type { SideKind } from '../../core/store.ts';
import { sortKeyCursor } from '../cursors.ts';
import { type Params, parseLimit, refuseUnknownParameters } from '../parameters.ts';
import type { ReadModel } from '../read-model.ts';
import { iso } from '../times.ts';

const PARAMETERS = ['limit', 'cursor', 'view'];

export async function sideRecords(read: ReadModel, kind: SideKind, params: Params) {
  refuseUnknownParameters(params, PARAMETERS);
  const limit = parseLimit(params.limit);
  if (params.view !== undefined) read.view(params.view);
  const page = await read.store.listSideRecords(kind, limit, sortKeyCursor.decode(params.cursor));
  const entries = page.records.flatMap((r) =>
    r.entries
      .filter((e) => params.view === undefined || e.view === params.view)
      .map((e) => ({
        arrivedAt: iso(r.arrivalMs),
        shardId: r.shardId,
        sequenceNumber: r.seq.replace(/^0+(?=\d)/, ''),
        index: e.index,
        ...(e.view ? { view: e.view } : {}),
        reason: e.reason,
        event: e.event,
      })),
  );
  return { [kind === 'late' ? 'late' : 'deadLetters']: entries, nextCursor: sortKeyCursor.encode(page.nextCursor) };
}
