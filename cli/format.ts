/** Plain-text tables and values for the CLI's readable output (`--json` prints the API's values instead). */

/** Columns separated by two spaces; columns of numbers right-aligned, everything else left. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = headers.map((_, i) => rows.some((r) => r[i] !== '-') && rows.every((r) => NUMERIC.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (right[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A number as number() and count() write it, or '-' for none. */
const NUMERIC = /^(-?[\d,]*\.?\d+(e[-+]?\d+)?|-)$/;

/** Integers as they are; fractions to 2 decimals (3 significant digits below 1). */
export function number(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Math.abs(n) >= 1 ? Number(n.toFixed(2)) : Number(n.toPrecision(3)));
}

/** Counts with thousands separators, for reports read by people. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * A measure's result in one cell: numbers; `quantiles` as `p50 403.6 p90 1620`; `topk` as `a1 (3), a2 (1)`;
 * `maxBy`/`minBy` as `price=9120 auction=5003`; null (no value in the window) as `-`.
 */
export function measure(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return number(value);
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        const { value: v, count: c } = (item ?? {}) as { value?: unknown; count?: unknown };
        return c === undefined ? JSON.stringify(item) : `${scalar(v)} (${scalar(c)})`;
      })
      .join(', ');
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > 0 && entries.every(([k]) => /^(0(\.\d+)?|1)$/.test(k))) {
      return entries.map(([q, v]) => `${quantileName(Number(q))} ${scalar(v)}`).join(' ');
    }
    return entries.map(([k, v]) => `${k}=${scalar(v)}`).join(' ');
  }
  return scalar(value);
}

function quantileName(q: number): string {
  return `p${Number((q * 100).toPrecision(4))}`;
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return number(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** `2026-11-24 07:28:40` (UTC), with milliseconds only when there are some. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.000Z$|Z$/, '');
}

/** A window as `2026-11-24 07:28:40 → 07:28:50`; the end keeps its date when it falls on another day. */
export function window(startIso: string, endIso: string): string {
  const start = time(startIso);
  const end = time(endIso);
  return `${start} → ${end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end}`;
}

/** `850 ms`, `1.23 s`, `2 min 5 s`. */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Number((ms / 1_000).toFixed(2))} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** A group as `auction=a1 channel=web`; the one group of a view without groupBy as `(all)`. */
export function group(values: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(values);
  if (entries.length === 0) return '(all)';
  return entries.map(([k, v]) => `${k}=${v === null ? '(none)' : scalar(v)}`).join(' ');
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
