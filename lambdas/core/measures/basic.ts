import type { MeasureSpec } from '../config.ts';
import { type Accumulator, type Event, type Measure, numericValue } from './measure.ts';

export class Count implements Accumulator {
  constructor(public n = 0) {}
  add(): void {
    this.n++;
  }
  merge(other: Count): void {
    this.n += other.n;
  }
  result(): number {
    return this.n;
  }
  encode(): number {
    return this.n;
  }
}

/**
 * Neumaier-compensated sum, so that the same values summed in another batching or merge order agree to the
 * last bits far more often than a naive float sum would (exactly, for integers below 2^53).
 */
export class Sum implements Accumulator {
  constructor(
    readonly field: string,
    public sum = 0,
    public comp = 0,
    public n = 0,
  ) {}
  add(event: Event): void {
    const v = numericValue(event[this.field]);
    if (v !== undefined) this.addValue(v, 1);
  }
  addValue(v: number, n: number): void {
    const t = this.sum + v;
    this.comp += Math.abs(this.sum) >= Math.abs(v) ? this.sum - t + v : v - t + this.sum;
    this.sum = t;
    this.n += n;
  }
  merge(other: Sum): void {
    this.addValue(other.sum, other.n);
    this.addValue(other.comp, 0);
  }
  total(): number {
    return this.sum + this.comp;
  }
  result(): number | null {
    return this.n === 0 ? null : this.total();
  }
  encode(): [number, number, number] {
    return [this.sum, this.comp, this.n];
  }
}

class Avg extends Sum {
  override result(): number | null {
    return this.n === 0 ? null : this.total() / this.n;
  }
}

export class Extreme implements Accumulator {
  constructor(
    readonly field: string,
    readonly sign: 1 | -1,
    public value: number | null = null,
  ) {}
  add(event: Event): void {
    const v = numericValue(event[this.field]);
    if (v !== undefined) this.offer(v);
  }
  offer(v: number): void {
    if (this.value === null || (v - this.value) * this.sign > 0) this.value = v;
  }
  merge(other: Extreme): void {
    if (other.value !== null) this.offer(other.value);
  }
  result(): number | null {
    return this.value;
  }
  encode(): number | null {
    return this.value;
  }
}

function decodeSum<T extends Sum>(acc: T, encoded: unknown): T {
  const [sum, comp, n] = encoded as [number, number, number];
  acc.sum = sum;
  acc.comp = comp;
  acc.n = n;
  return acc;
}

/** count, sum, min, max, avg: the measures whose partials are a few numbers. */
export function basicMeasure(spec: MeasureSpec): Measure | undefined {
  switch (spec.fn) {
    case 'count':
      return { spec, create: () => new Count(), decode: (e) => new Count(e as number) };
    case 'sum':
      return { spec, create: () => new Sum(spec.field), decode: (e) => decodeSum(new Sum(spec.field), e) };
    case 'avg':
      return { spec, create: () => new Avg(spec.field), decode: (e) => decodeSum(new Avg(spec.field), e) };
    case 'min':
    case 'max': {
      const sign = spec.fn === 'max' ? 1 : -1;
      return {
        spec,
        create: () => new Extreme(spec.field, sign),
        decode: (e) => new Extreme(spec.field, sign, e as number | null),
      };
    }
    default:
      return undefined;
  }
}
