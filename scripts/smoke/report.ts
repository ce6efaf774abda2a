/** The smoke check's report: one line per check, the timings, and the exit code it maps to. */

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Timings {
  /** The first POST /events of the run's data, until its 202. */
  readonly to202Ms: number | null;
  /** From that POST until a result of the run's groups was first visible (provisional or already final). */
  readonly firstResultMs: number | null;
  /** From that POST until every window holding the run's data was final. */
  readonly finalMs: number | null;
  readonly totalMs: number;
}

export interface SmokeReport {
  readonly ok: boolean;
  readonly url: string;
  /** Group values of this run start with `smoke-<runId>-`. */
  readonly runId: string;
  readonly seed: number;
  readonly startedAt: string;
  readonly events: { readonly data: number; readonly ticks: number };
  readonly timings: Timings;
  readonly checks: readonly Check[];
}

/** 0: every check passed; 1: a check failed (or the API could not be reached). Usage errors (2) never get here. */
export function exitCode(report: SmokeReport): 0 | 1 {
  return report.ok ? 0 : 1;
}

export function formatReport(report: SmokeReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length), 8);
  const lines = [
    `Eddy smoke check: ${report.url}`,
    `  run ${report.runId} (groups smoke-${report.runId}-*), seed ${report.seed}, ` +
      `${report.events.data} events + ${report.events.ticks} ticks, started ${report.startedAt}`,
    '',
  ];
  for (const c of report.checks) lines.push(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}`);
  const t = report.timings;
  lines.push(
    '',
    `  Timings: 202 after ${ms(t.to202Ms)} · first result after ${ms(t.firstResultMs)} · ` +
      `final after ${ms(t.finalMs)} · total ${ms(t.totalMs)}`,
    '',
  );
  const failed = report.checks.filter((c) => !c.ok).length;
  lines.push(
    report.ok
      ? `PASS: all ${report.checks.length} checks passed`
      : `FAIL: ${failed} of ${report.checks.length} checks failed`,
  );
  return lines.join('\n');
}

function ms(value: number | null): string {
  if (value === null) return '-';
  return value < 1_000 ? `${value} ms` : `${(value / 1_000).toFixed(1)} s`;
}
