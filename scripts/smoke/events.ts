/**
 * The events a smoke run sends, built from the deployed views alone (a deployment may run any views config).
 *
 * - Every view gets events that pass its `where` filter and carry every field any view groups by or measures.
 * - Group values are `smoke-<runid>-<field>-<n>`: the run's groups are its own on a deployment other producers
 *   share, so their results can be checked exactly. A field a view filters on keeps the filter's value, so a
 *   view that groups by such a field (or by nothing) shares its group with other traffic.
 * - Values come from a generator seeded by `--seed`, so a run's values can be sent again (under a new run id).
 * - Ticks (events that only move the watermark) set every filtered field to a value no filter asks for, so
 *   they land in no view that has a filter, and in the run's own `...-tick` group of any view that has none.
 */
import type { FieldValue, PipelineConfig } from '../../lambdas/core/config.ts';
import { mulberry32 } from '../../lambdas/core/random.ts';

export type SmokeEvent = Record<string, FieldValue>;

export interface SentEvent {
  readonly kind: 'data' | 'tick';
  readonly event: SmokeEvent;
  /** The event time, as epoch milliseconds. */
  readonly time: number;
}

/** Marks every event of a run, so its late or dead-lettered events can be told from others'. */
export const RUN_FIELD = 'smokeRun';

/** Values per group field: a few groups per view, each with enough events for min, max and quantiles to differ. */
const GROUP_VALUES = 3;
/** Values per field counted by `distinct` or `topk`. */
const CATEGORICAL_VALUES = 5;
/** Numeric measure values are integers 1..MAX_NUMBER: their sums are exact in floating point. */
const MAX_NUMBER = 1000;

export class SmokeEvents {
  /** `smoke-<runid>-`: every group value this run makes starts with it. */
  readonly prefix: string;
  private readonly random: () => number;
  private readonly whereFields = new Set<string>();
  private readonly groupFields = new Set<string>();
  private readonly numericFields = new Set<string>();
  private readonly categoricalFields = new Set<string>();
  private readonly keptFields = new Set<string>();
  private nextView = 0;

  constructor(
    private readonly config: PipelineConfig,
    readonly runId: string,
    seed: number,
  ) {
    this.prefix = `smoke-${runId}-`;
    this.random = mulberry32(seed);
    for (const view of config.views) {
      for (const [field] of view.where) this.whereFields.add(field);
      for (const field of view.groupBy) this.groupFields.add(field);
      for (const m of view.measures) {
        if (m.fn === 'count') continue;
        if (m.fn === 'distinct' || m.fn === 'topk') this.categoricalFields.add(m.field);
        else this.numericFields.add(m.field);
        if (m.fn === 'maxBy' || m.fn === 'minBy') for (const f of m.keep) this.keptFields.add(f);
      }
    }
  }

  /** The next data event, for the views in turn; its time is set by `at` when it is sent. */
  data(): SmokeEvent {
    const view = this.config.views[this.nextView++ % this.config.views.length]!;
    const event: SmokeEvent = { [RUN_FIELD]: this.runId };
    for (const [field, value] of view.where) event[field] = value;
    for (const field of this.groupFields) event[field] ??= this.pick(field, GROUP_VALUES);
    for (const field of this.numericFields) event[field] ??= 1 + Math.floor(this.random() * MAX_NUMBER);
    for (const field of this.categoricalFields) event[field] ??= this.pick(field, CATEGORICAL_VALUES);
    for (const field of this.keptFields) event[field] ??= this.pick(field, CATEGORICAL_VALUES);
    return event;
  }

  tick(): SmokeEvent {
    const event: SmokeEvent = { [RUN_FIELD]: this.runId, smokeTick: true };
    for (const field of [...this.whereFields, ...this.groupFields]) event[field] = `${this.prefix}tick`;
    return event;
  }

  /** The event with its event time set (ISO-8601, as most producers send it). */
  at(event: SmokeEvent, time: number): SmokeEvent {
    return { ...event, [this.config.eventTimeField]: new Date(time).toISOString() };
  }

  /** Whether every value of a group was made by this run: only then can no other producer add to it. */
  ownsGroup(values: ReadonlyArray<string | null>): boolean {
    return values.length > 0 && values.every((v) => v?.startsWith(this.prefix) && v !== `${this.prefix}tick`);
  }

  isTickGroup(values: ReadonlyArray<string | null>): boolean {
    return values.some((v) => v === `${this.prefix}tick`);
  }

  private pick(field: string, n: number): string {
    return `${this.prefix}${field}-${1 + Math.floor(this.random() * n)}`;
  }
}
