import type { MeasureSpec } from '../config.ts';
import { basicMeasure } from './basic.ts';
import { distinctMeasure } from './distinct.ts';
import { extremeByMeasure } from './extreme-by.ts';
import type { Measure } from './measure.ts';
import { quantilesMeasure } from './quantiles.ts';
import { topkMeasure } from './topk.ts';

export type { Accumulator, Event, Measure } from './measure.ts';

/** The measure implementation for a validated spec. */
export function createMeasure(spec: MeasureSpec): Measure {
  switch (spec.fn) {
    case 'distinct':
      return distinctMeasure(spec);
    case 'quantiles':
      return quantilesMeasure(spec);
    case 'topk':
      return topkMeasure(spec);
    case 'maxBy':
    case 'minBy':
      return extremeByMeasure(spec);
  }
  const measure = basicMeasure(spec);
  if (!measure) throw new Error(`measure '${spec.fn}' (${spec.name}) has no implementation`);
  return measure;
}
