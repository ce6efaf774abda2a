/**
 * A pane's partial aggregate in its stored form, and merging partials from several shards or batches.
 */
import type { ViewSpec } from './config.ts';
import { type Accumulator, createMeasure, type Measure } from './measures/index.ts';

export interface PanePartial {
  count: number;
  minTime: number;
  maxTime: number;
  readonly accumulators: Accumulator[];
}

/** Which pane: of which view (`name@fingerprint`, see viewIdOf), which group, which pane start. */
export interface PaneRef {
  readonly viewId: string;
  readonly groupKey: string;
  readonly paneStart: number;
}

/** The one key a pane is known by in maps, in the aggregator and the stores alike. */
export function paneKey(ref: PaneRef): string {
  return `${ref.viewId}|${ref.paneStart}|${ref.groupKey}`;
}

/** Per-view measure implementations, built once. */
export class ViewMeasures {
  readonly measures: readonly Measure[];
  constructor(readonly view: ViewSpec) {
    this.measures = view.measures.map(createMeasure);
  }

  empty(): PanePartial {
    return {
      count: 0,
      minTime: Number.POSITIVE_INFINITY,
      maxTime: Number.NEGATIVE_INFINITY,
      accumulators: this.measures.map((m) => m.create()),
    };
  }

  /** Partials keyed by measure name: an item is readable whatever order the measures are listed in. */
  encode(partial: PanePartial): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.measures.forEach((m, i) => {
      out[m.spec.name] = partial.accumulators[i]!.encode();
    });
    return out;
  }

  /** Partials in the measures' order: the compact form of the pane log, whose view id fixes the measures. */
  encodeList(partial: PanePartial): unknown[] {
    return partial.accumulators.map((acc) => acc.encode());
  }

  decodeList(count: number, minTime: number, maxTime: number, encoded: readonly unknown[]): PanePartial {
    return {
      count,
      minTime,
      maxTime,
      accumulators: this.measures.map((m, i) => (encoded[i] === undefined ? m.create() : m.decode(encoded[i]))),
    };
  }

  decode(count: number, minTime: number, maxTime: number, encoded: Record<string, unknown>): PanePartial {
    return {
      count,
      minTime,
      maxTime,
      accumulators: this.measures.map((m) => {
        const e = encoded[m.spec.name];
        return e === undefined ? m.create() : m.decode(e);
      }),
    };
  }

  /** Folds `other` into `into` (mutates `into`). */
  merge(into: PanePartial, other: PanePartial): PanePartial {
    into.count += other.count;
    into.minTime = Math.min(into.minTime, other.minTime);
    into.maxTime = Math.max(into.maxTime, other.maxTime);
    into.accumulators.forEach((acc, i) => {
      acc.merge(other.accumulators[i]!);
    });
    return into;
  }

  results(partial: PanePartial): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.measures.forEach((m, i) => {
      out[m.spec.name] = partial.accumulators[i]!.result();
    });
    return out;
  }
}
