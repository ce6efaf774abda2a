/**
 * Publishes each window once, when it becomes final, by compacting it.
 *
 * Every batch records the windows it writes deltas for ("open window" entries, keyed by when the window can
 * become final; one entry per window, whichever batch writes it). After a batch, and every minute on a
 * schedule, the emitter takes the entries the pipeline watermark has made ready, reads every group of the
 * window from the pane log (one Query per bucket), composes each group's result, and writes them as a
 * compacted window: a few chunks by group hash, then the window item that says they are all there. A final
 * window never changes, so the chunks are the same whoever writes them, and each is written once (a
 * conditional put): repeats from retries or from several shards are no-ops. On AWS the chunks' DynamoDB
 * stream feeds EventBridge.
 *
 * A session's end is not known in advance. A session bucket's entry is emitted in rounds: each round fixes a
 * cut (the first emitter to look stores it, so every retry agrees), publishes the sessions starting in the
 * bucket that are final at that cut and were not at the previous round's, and, while some are still open,
 * schedules the next round for when the earliest of them can be final.
 */

import { WindowReader } from '../adapters/window-reader.ts';
import type { PipelineConfig } from '../core/config.ts';
import { type GroupResult, packResults } from '../core/pane-log.ts';
import type { CompactedWindow, OpenWindows, StateStore } from '../core/store.ts';
import { END_OF_TIME, isFinal } from '../core/windows/index.ts';

type Store = Pick<
  StateStore,
  | 'queryDeltas'
  | 'listOpenWindows'
  | 'putOpenWindows'
  | 'fixRoundCut'
  | 'deleteOpenWindows'
  | 'raiseEmittedThrough'
  | 'putCompacted'
  | 'raiseCompactedThrough'
>;

export interface EmitBudget {
  /** Open-window entries examined per view, at most. */
  readonly entries: number;
  /** No entry is started after this time (epoch ms): the function must finish within its timeout. */
  readonly deadline: number;
}

export interface EmitReport {
  /** Results newly published. */
  emitted: number;
  /** Open-window entries examined. */
  entries: number;
  /** Entries that failed (kept, to be tried again), and the first reason. */
  failed: number;
  firstError?: string;
}

export class WindowEmitter {
  private readonly readers: readonly WindowReader[];
  private round = 0;
  /** The emitted-through watermark this instance last stored: it need not store a lower one again. */
  private raisedTo = Number.NEGATIVE_INFINITY;
  /** Per view, the compacted-through this instance last stored. */
  private readonly compactedTo = new Map<string, number>();

  constructor(
    private readonly config: PipelineConfig,
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.readers = config.views.map((v) => new WindowReader(v, store));
  }

  /**
   * Publishes the windows that `watermark` made final: at most `budget.entries` entries per view, and no new
   * entry once `budget.deadline` (epoch ms) has passed; what is left waits for the next run.
   */
  async emit(watermark: number | null, budget: EmitBudget): Promise<EmitReport> {
    const report: EmitReport = { emitted: 0, entries: 0, failed: 0 };
    if (watermark === null) return report;
    // Stored before anything is published at it: shards that join later start from it (see ShardProcessor).
    if (watermark > this.raisedTo) {
      await this.store.raiseEmittedThrough(watermark);
      this.raisedTo = watermark;
    }
    const readyBy = watermark - this.config.allowedLatenessMs;
    // Each run starts with the next view, so a view with a backlog cannot keep the others waiting for ever.
    const first = this.round++ % this.readers.length;
    const order = [...this.readers.slice(first), ...this.readers.slice(0, first)];
    for (const reader of order) {
      const entries = await this.store.listOpenWindows(reader.viewId, readyBy, budget.entries);
      let complete = entries.length < budget.entries;
      for (const entry of entries) {
        if (this.now() > budget.deadline) return report;
        report.entries++;
        try {
          report.emitted += await this.emitEntry(reader, entry, readyBy);
        } catch (err) {
          // The entry stays and is tried again by the next run; one bad entry must not block the rest.
          complete = false;
          report.failed++;
          report.firstError ??= `${reader.view.name} window ${entry.windowStart}: ${(err as Error).message}`;
        }
      }
      // Every window ready by now is compacted: readers take them from their chunks (see WindowReader).
      if (complete && readyBy > (this.compactedTo.get(reader.viewId) ?? Number.NEGATIVE_INFINITY)) {
        await this.store.raiseCompactedThrough(reader.viewId, readyBy);
        this.compactedTo.set(reader.viewId, readyBy);
      }
    }
    return report;
  }

  private async emitEntry(reader: WindowReader, entry: OpenWindows, readyBy: number): Promise<number> {
    const emitted =
      reader.view.window.type === 'session'
        ? await this.emitSessions(reader, entry, readyBy)
        : await this.emitWindow(reader, entry);
    await this.store.deleteOpenWindows(reader.viewId, entry.key);
    return reader.view.emit ? emitted : 0;
  }

  /** A tumbling or sliding window: every group that has data in it. */
  private async emitWindow(reader: WindowReader, entry: OpenWindows): Promise<number> {
    const window = reader.view.window as { sizeMs: number };
    const windowStart = entry.windowStart;
    const { from, to } = reader.windows.entryWindows(windowStart);
    const range = reader.windows.paneRange(from, to);
    const groups = await reader.allGroupPanes(range.from, range.to);
    const req = { from, to, limit: 1, watermark: entry.readyAt + this.config.allowedLatenessMs, ...this.lateness() };
    const results: GroupResult[] = [];
    for (const [groupKey, panes] of groups) {
      const [r] = (await reader.compose(panes, req)).windows;
      if (r) results.push({ groupKey, ...r });
    }
    return this.compact(reader, windowStart, 0, windowStart + window.sizeMs, results);
  }

  /**
   * Sessions starting in the entry's bucket that are final at the round's cut and were not at the previous
   * round's; while some are still open, another round follows. A round's sessions are the same whenever it is
   * computed: a session final at the cut can no longer change.
   */
  private async emitSessions(reader: WindowReader, entry: OpenWindows, readyBy: number): Promise<number> {
    const { paneMs } = reader.view.window as { paneMs: number };
    const round = entry.round ?? 0;
    const cut = await this.store.fixRoundCut(reader.viewId, entry.windowStart, round, readyBy, this.expiresAtS(reader));
    const lateness = this.config.allowedLatenessMs;
    const watermark = cut + lateness;
    const { from, to } = reader.windows.entryWindows(entry.windowStart);
    // Everything a session final at the cut can touch is at or below the watermark's pane; one pane more
    // shows whether a session still going on continues past it.
    const reach = Math.min(END_OF_TIME, watermark - (watermark % paneMs) + 2 * paneMs);
    const groups = await reader.allGroupPanes(reader.windows.paneRange(from, to).from, reach);
    const results: GroupResult[] = [];
    let openUntil = Number.POSITIVE_INFINITY;
    for (const [groupKey, panes] of groups) {
      const [r] = (await reader.compose(panes, { from, to, limit: 1, watermark, ...this.lateness() })).windows;
      if (!r) continue;
      if (!r.final) openUntil = Math.min(openUntil, r.windowEnd);
      // Final at this cut and not at the previous one: the previous round published those.
      else if (entry.prevCut === undefined || !isFinal(r.windowEnd, entry.prevCut + lateness, lateness)) {
        results.push({ groupKey, ...r });
      }
    }
    if (openUntil < Number.POSITIVE_INFINITY) {
      // Looked at again once the earliest open session can be final (two emitters may schedule the next round
      // at two times: its cut, fixed apart from the entries, makes them agree).
      await this.store.putOpenWindows(reader.viewId, `r${round + 1}`, [
        { windowStart: entry.windowStart, readyAt: Math.max(openUntil, cut + 1), round: round + 1, prevCut: cut },
      ]);
    }
    if (results.length === 0) return 0;
    return this.compact(reader, entry.windowStart, round, Math.max(...results.map((r) => r.windowEnd)), results);
  }

  private async compact(
    reader: WindowReader,
    windowStart: number,
    round: number,
    windowEnd: number,
    results: readonly GroupResult[],
  ): Promise<number> {
    const chunks = packResults(results);
    const window: CompactedWindow = {
      viewId: reader.viewId,
      view: reader.view.name,
      groupBy: reader.view.groupBy,
      windowStart,
      round,
      windowEnd,
      chunks: chunks.length,
      results: results.length,
      publish: reader.view.emit,
      emittedAt: this.now(),
    };
    return (await this.store.putCompacted(window, chunks, this.expiresAtS(reader))) ? results.length : 0;
  }

  /** The end of a compacted window's retention, from now. */
  private expiresAtS(reader: WindowReader): number {
    return Math.ceil((this.now() + reader.view.retentionMs) / 1000);
  }

  private lateness() {
    return { allowedLatenessMs: this.config.allowedLatenessMs };
  }
}
