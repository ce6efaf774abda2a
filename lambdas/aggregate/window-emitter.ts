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
 * Views with an anomaly detector are scored here too, as each window is compacted (lambdas/core/anomaly/
 * scoring.ts): from the detector states stored with the view's previous compacted window, into the states
 * stored with this one, in the same once-only writes. Their windows must be compacted in order, so a failed
 * entry of such a view stops its run (the next run tries it again) instead of being stepped over.
 *
 * A session's end is not known in advance. A session bucket's entry is emitted in rounds: each round fixes a
 * cut (the first emitter to look stores it, so every retry agrees), publishes the sessions starting in the
 * bucket that are final at that cut and were not at the previous round's, and, while some are still open,
 * schedules the next round for when the earliest of them can be final.
 */

import { type GroupPanes, WindowReader } from '../adapters/window-reader.ts';
import type { Detector } from '../core/anomaly/detector.ts';
import {
  ABSENT_WINDOWS_KEPT,
  createDetector,
  detectorSignature,
  type GroupDetectorState,
  scoreWindow,
} from '../core/anomaly/scoring.ts';
import type { PipelineConfig } from '../core/config.ts';
import { type GroupResult, packResults, packStates, type ResultChunk, unpackStates } from '../core/pane-log.ts';
import type { CompactedWindow, OpenWindows, StateStore, StoredAnomaly } from '../core/store.ts';
import { END_OF_TIME, isFinal } from '../core/windows/index.ts';

type Store = Pick<
  StateStore,
  | 'queryDeltas'
  | 'listOpenWindows'
  | 'putOpenWindows'
  | 'fixRoundCut'
  | 'deleteOpenWindows'
  | 'raiseEmittedThrough'
  | 'getCompacted'
  | 'putCompacted'
  | 'raiseCompactedThrough'
  | 'getLatestCompacted'
  | 'getDetectorStates'
  | 'putAnomalies'
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
  /** Anomalies newly reported by views' detectors. */
  anomalies: number;
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
  /** Per session view, the readyBy of this instance's last look (see sessionPassDue). */
  private readonly sessionPasses = new Map<string, number>();
  /** Per view with an anomaly detector, the detector. */
  private readonly detectors = new Map<string, Detector<unknown>>();

  constructor(
    private readonly config: PipelineConfig,
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.readers = config.views.map((v) => new WindowReader(v, store));
    for (const v of config.views) if (v.anomaly) this.detectors.set(v.name, createDetector(v.anomaly));
  }

  /**
   * Publishes the windows that `watermark` made final: at most `budget.entries` entries per view, and no new
   * entry once `budget.deadline` (epoch ms) has passed; what is left waits for the next run.
   */
  async emit(watermark: number | null, budget: EmitBudget): Promise<EmitReport> {
    const report: EmitReport = { emitted: 0, anomalies: 0, entries: 0, failed: 0 };
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
      if (!this.sessionPassDue(reader, readyBy)) continue;
      const entries = await this.store.listOpenWindows(reader.viewId, readyBy, budget.entries);
      let complete = entries.length < budget.entries;
      if (reader.view.window.type === 'session') {
        const pass = await this.emitSessions(reader, entries, readyBy);
        report.entries += entries.length;
        report.emitted += pass.emitted;
        report.failed += pass.failed;
        report.firstError ??= pass.firstError;
        continue;
      }
      for (const entry of entries) {
        if (this.now() > budget.deadline) return report;
        report.entries++;
        try {
          report.emitted += await this.emitWindow(reader, entry, report);
        } catch (err) {
          // The entry stays and is tried again by the next run; one bad entry must not block the rest.
          complete = false;
          report.failed++;
          report.firstError ??= `${reader.view.name} window ${entry.windowStart}: ${(err as Error).message}`;
          // A detector scores windows in order: the later ones wait for this one.
          if (reader.view.anomaly) break;
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

  /**
   * Session views are looked at once per gap of watermark progress (and whenever the watermark stalls, as
   * when the stream went quiet): each look reads the deltas of every session still open, so looking after
   * every batch would read them again and again.
   */
  private sessionPassDue(reader: WindowReader, readyBy: number): boolean {
    const window = reader.view.window;
    if (window.type !== 'session') return true;
    const last = this.sessionPasses.get(reader.viewId);
    if (last !== undefined && readyBy > last && readyBy < last + window.gapMs) return false;
    this.sessionPasses.set(reader.viewId, readyBy);
    return true;
  }

  /** A tumbling or sliding window: every group that has data in it. */
  private async emitWindow(reader: WindowReader, entry: OpenWindows, report: EmitReport): Promise<number> {
    const window = reader.view.window as { sizeMs: number };
    const windowStart = entry.windowStart;
    const { from, to } = reader.windows.entryWindows(windowStart);
    const range = reader.windows.paneRange(from, to);
    const groups = await reader.allGroupPanes(range.from, range.to);
    const lateness = this.config.allowedLatenessMs;
    const req = { from, to, limit: 1, watermark: entry.readyAt + lateness, allowedLatenessMs: lateness };
    const results: GroupResult[] = [];
    for (const [groupKey, panes] of groups) {
      const [r] = (await reader.compose(panes, req)).windows;
      if (r) results.push({ groupKey, ...r });
    }
    const emitted = await this.compact(reader, windowStart, 0, windowStart + window.sizeMs, results, report);
    await this.store.deleteOpenWindows(reader.viewId, entry.key);
    return reader.view.emit ? emitted : 0;
  }

  /**
   * The ready entries of a session view, in one read: every bucket's deltas from the earliest entry's bucket
   * on. Each entry publishes the sessions that start in its bucket and are final at its round's cut but were
   * not at the previous round's; while some are still open, the next round is scheduled for when the
   * earliest of them can be final. A round's sessions are the same whenever it is computed: a session final
   * at the cut can no longer change, and the cut is fixed by the first emitter to look.
   */
  private async emitSessions(
    reader: WindowReader,
    entries: readonly OpenWindows[],
    readyBy: number,
  ): Promise<{ emitted: number; failed: number; firstError?: string }> {
    const out: { emitted: number; failed: number; firstError?: string } = { emitted: 0, failed: 0 };
    if (entries.length === 0) return out;
    const { paneMs } = reader.view.window as { paneMs: number };
    const lateness = this.config.allowedLatenessMs;
    const cuts = await Promise.all(
      entries.map((e) =>
        this.store.fixRoundCut(reader.viewId, e.windowStart, e.round ?? 0, readyBy, this.expiresAtS(reader)),
      ),
    );
    // Everything a session final at a cut can touch is at or below that watermark's pane; one pane more shows
    // whether a session still going on continues past it.
    const last = Math.max(...cuts) + lateness;
    const reach = Math.min(END_OF_TIME, last - (last % paneMs) + 2 * paneMs);
    const from = reader.windows.paneRange(Math.min(...entries.map((e) => e.windowStart)), 0).from;
    const groups = await reader.allGroupPanes(from, reach);
    // A session starts in a bucket only for a group with data in that bucket.
    const byBucket = new Map<number, string[]>();
    for (const [groupKey, panes] of groups) {
      for (const p of new Set(panes.map((x) => x.paneStart))) {
        const list = byBucket.get(p);
        if (list) list.push(groupKey);
        else byBucket.set(p, [groupKey]);
      }
    }
    for (const [i, entry] of entries.entries()) {
      try {
        const emitted = await this.emitSessionRound(
          reader,
          entry,
          cuts[i]!,
          groups,
          byBucket.get(entry.windowStart) ?? [],
        );
        out.emitted += reader.view.emit ? emitted : 0;
      } catch (err) {
        out.failed++;
        out.firstError ??= `${reader.view.name} sessions of ${entry.windowStart}: ${(err as Error).message}`;
      }
    }
    return out;
  }

  private async emitSessionRound(
    reader: WindowReader,
    entry: OpenWindows,
    cut: number,
    groups: ReadonlyMap<string, GroupPanes>,
    candidates: readonly string[],
  ): Promise<number> {
    const round = entry.round ?? 0;
    const lateness = this.config.allowedLatenessMs;
    const { from, to } = reader.windows.entryWindows(entry.windowStart);
    const req = { from, to, limit: 1, watermark: cut + lateness, allowedLatenessMs: lateness };
    const results: GroupResult[] = [];
    let openUntil = Number.POSITIVE_INFINITY;
    for (const groupKey of candidates) {
      const [r] = (await reader.compose(groups.get(groupKey)!, req)).windows;
      if (!r) continue;
      if (!r.final) openUntil = Math.min(openUntil, r.windowEnd);
      // Final at this cut and not at the previous one: the previous round published those.
      else if (entry.prevCut === undefined || !isFinal(r.windowEnd, entry.prevCut + lateness, lateness)) {
        results.push({ groupKey, ...r });
      }
    }
    if (openUntil < Number.POSITIVE_INFINITY) {
      // Two emitters may schedule the next round at two times: its cut, fixed apart from the entries, makes
      // them agree.
      await this.store.putOpenWindows(reader.viewId, `r${round + 1}`, [
        { windowStart: entry.windowStart, readyAt: Math.max(openUntil, cut + 1), round: round + 1, prevCut: cut },
      ]);
    }
    const emitted =
      results.length === 0
        ? 0
        : await this.compact(reader, entry.windowStart, round, Math.max(...results.map((r) => r.windowEnd)), results);
    await this.store.deleteOpenWindows(reader.viewId, entry.key);
    return emitted;
  }

  private async compact(
    reader: WindowReader,
    windowStart: number,
    round: number,
    windowEnd: number,
    results: readonly GroupResult[],
    report?: EmitReport,
  ): Promise<number> {
    // A retried or concurrent emission: the window is there whole already, nothing to write again.
    if (await this.store.getCompacted(reader.viewId, windowEnd, windowStart, round)) return 0;
    const detector = this.detectors.get(reader.view.name);
    const scored = detector ? await this.score(reader, detector, windowStart, windowEnd, results) : null;
    const chunks = packResults(scored?.results ?? results);
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
      ...(scored ? { detector: { signature: scored.signature, chunks: scored.states.length } } : {}),
    };
    const expiresAtS = this.expiresAtS(reader);
    // Before the window item: once it is there, the window (its scores included) is complete.
    if (scored && scored.anomalies.length > 0) {
      await this.store.putAnomalies(reader.viewId, scored.anomalies, expiresAtS);
    }
    const written = await this.store.putCompacted(window, chunks, expiresAtS, scored?.states);
    if (written && report && scored) report.anomalies += scored.anomalies.length;
    return written ? results.length : 0;
  }

  /**
   * Scores a window of a view with a detector, from the states stored with the view's previous compacted
   * window: the view's windows are compacted in order (see emit), so that one is complete and final.
   */
  private async score(
    reader: WindowReader,
    detector: Detector<unknown>,
    windowStart: number,
    windowEnd: number,
    results: readonly GroupResult[],
  ): Promise<{ signature: string; results: GroupResult[]; states: ResultChunk[]; anomalies: StoredAnomaly[] }> {
    const spec = reader.view.anomaly!;
    const signature = detectorSignature(spec);
    const previous = await this.store.getLatestCompacted(reader.viewId, windowEnd);
    const { slideMs } = reader.view.window as { slideMs: number };
    const skipped = previous ? Math.max(0, Math.round((windowStart - previous.windowStart) / slideMs) - 1) : 0;
    const states = new Map<string, GroupDetectorState>();
    // A changed detector config starts over rather than read states of another shape; so does a view silent
    // for longer than any group is remembered (its states may already be going with the TTL).
    if (previous?.detector?.signature === signature && skipped < ABSENT_WINDOWS_KEPT) {
      const chunks = await this.store.getDetectorStates(previous);
      // Every attempt at this window must start from the same states: a partial read is an error to retry.
      if (chunks.length !== previous.detector.chunks) {
        throw new Error(
          `the detector states of window ${previous.windowStart} have ${chunks.length} of ${previous.detector.chunks} chunks`,
        );
      }
      for (const chunk of chunks) {
        for (const [groupKey, state] of unpackStates(chunk.data)) states.set(groupKey, state as GroupDetectorState);
      }
    }
    const index = Math.floor(windowStart / slideMs);
    const scoring = scoreWindow(spec, detector, states, skipped, { windowStart, windowEnd, index }, results);
    const detectedAt = this.now();
    return {
      signature,
      results: scoring.results,
      states: packStates(scoring.states),
      anomalies: scoring.anomalies.map((a) => ({
        view: reader.view.name,
        groupBy: reader.view.groupBy,
        ...a,
        detectedAt,
      })),
    };
  }

  /** The end of a compacted window's retention, from now. */
  private expiresAtS(reader: WindowReader): number {
    return Math.ceil((this.now() + reader.view.retentionMs) / 1000);
  }
}
