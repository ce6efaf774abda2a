import type { MeasureSpec } from '../config.ts';
import { basicMeasure } from './basic.ts';
import type { Measure } from './measure.ts';

export type { Accumulator, Event, Measure } from './measure.ts';

/** The measure implementation for a validated spec. */
export function createMeasure(spec: MeasureSpec): Measure {
  const measure = basicMeasure(spec);
  if (!measure) throw new Error(`measure '${spec.fn}' (${spec.name}) is not implemented yet`);
  return measure;
}
