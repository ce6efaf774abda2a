/**
 * Publishes each window once, when it becomes final.
 *
 * Every batch records, for the panes it creates, the windows they belong to ("open window" entries, written
 * before the panes and keyed by when the window can become final). After a batch, and every minute on a
 * schedule, the emitter takes the entries the pipeline watermark has made ready, reads each window with all
 * shards merged, and writes the result once to the emitted outbox: a conditional put keyed by view, window
 * and group, so repeats from retries or from several shards are no-ops. On AWS the outbox's DynamoDB stream
 * feeds EventBridge.
 *
 * A session's end is not known in advance: its entry is first ready when a session starting in that bucket
 * could at the earliest be final, and is moved to the session's actual end while the session is still open.
 */
import { createHash } from 'node:crypto';
import { WindowReader } from '../adapters/window-reader.ts';
import { forEachLimited } from '../core/concurrency.ts';
import type { PipelineConfig } from '../core/config.ts';
import { groupObject } from '../core/group.ts';
import type { EmittedResult, OpenWindows, StateStore } from '../core/store.ts';
import type { WindowResult } from '../core/windows/index.ts';

type Store = Pick<
  StateStore,
  'queryPanes' | 'listOpenWindows' | 'putOpenWindows' | 'deleteOpenWindows' | 'putEmitted' | 'raiseEmittedThrough'
>;

export interface EmitBudget {
  /** Open-window entries examined per view, at most. */
  readonly entries: number;
  /** No entry is started after this time (epoch ms): the function must finish within its timeout. */
  readonly deadline: number;
}

/** Groups of one entry read and published at once. */
const GROUP_CONCURRENCY = 16;

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
      for (const entry of await this.store.listOpenWindows(reader.viewId, readyBy, budget.entries)) {
        if (this.now() > budget.deadline) return report;
        report.entries++;
        try {
          report.emitted += await this.emitEntry(reader, entry, watermark);
        } catch (err) {
          // The entry stays and is tried again by the next run; one bad entry must not block the rest.
          report.failed++;
          report.firstError ??= `${reader.view.name} window ${entry.windowStart}: ${(err as Error).message}`;
        }
      }
    }
    return report;
  }

  private async emitEntry(reader: WindowReader, entry: OpenWindows, watermark: number): Promise<number> {
    const req = { watermark, allowedLatenessMs: this.config.allowedLatenessMs, limit: 1 };
    const { from, to } = reader.windows.entryWindows(entry.windowStart);
    let emitted = 0;
    const stillOpen: Array<{ group: OpenWindows['groups'][number]; end: number }> = [];
    // An entry holds every group a batch created the window for: thousands, for a per-key view.
    await forEachLimited(entry.groups, GROUP_CONCURRENCY, async (group) => {
      const [result] = (await reader.read(group.groupKey, { ...req, from, to })).windows;
      if (!result) return;
      if (!result.final) {
        stillOpen.push({ group, end: result.windowEnd });
        return;
      }
      if (await this.store.putEmitted(reader.viewId, this.published(reader, group, result))) emitted++;
    });
    if (stillOpen.length > 0) {
      // Only a session can still be open here: check again once the watermark can have passed its end.
      // A fixed-length tag derived from the old key: rescheduling a long session again and again must not
      // grow the key (DynamoDB sort keys are at most 1 KB).
      await this.store.putOpenWindows(
        reader.viewId,
        `r.${createHash('sha256').update(entry.key).digest('hex').slice(0, 24)}`,
        [
          {
            windowStart: entry.windowStart,
            readyAt: Math.min(...stillOpen.map((s) => s.end)),
            groups: stillOpen.map((s) => s.group),
          },
        ],
      );
    }
    await this.store.deleteOpenWindows(reader.viewId, entry.key);
    return emitted;
  }

  private published(reader: WindowReader, group: OpenWindows['groups'][number], r: WindowResult): EmittedResult {
    return {
      view: reader.view.name,
      group: groupObject(reader.view, group.group),
      groupKey: group.groupKey,
      windowStart: r.windowStart,
      windowEnd: r.windowEnd,
      measures: r.measures,
      emittedAt: this.now(),
    };
  }
}
