/**
 * The aggregator's metrics, read off the reports the shard processor already returns (the same counters
 * GET /status adds up), so the metrics and /status cannot disagree about what a batch did.
 */
import { PIPELINE_METRICS as M, type MetricPoint } from '../adapters/pipeline-metrics.ts';
import type { BatchReport } from './shard-processor.ts';
import type { EmitReport } from './window-emitter.ts';

/**
 * One batch: its event counters (late also per view, 0 included, so a view's graph has no gaps), the shard
 * watermark's lag behind wall time, how long the batch took, the windows it published and the anomalies found. A batch made only
 * of records already applied reports no watermark: it moved nothing, so it has no lag to tell.
 */
export function batchMetrics(
  report: BatchReport,
  views: readonly string[],
  timing: { readonly startedAt: number; readonly now: number },
): MetricPoint[] {
  const { counters } = report;
  const points: MetricPoint[] = [
    { name: M.eventsProcessed, unit: 'Count', value: counters.processed },
    { name: M.lateEvents, unit: 'Count', value: counters.late },
    { name: M.deadLetteredEvents, unit: 'Count', value: counters.deadLettered },
    { name: M.duplicateEvents, unit: 'Count', value: counters.duplicates },
    { name: M.batchDuration, unit: 'Milliseconds', value: timing.now - timing.startedAt },
    { name: M.emittedWindows, unit: 'Count', value: report.emit?.emitted ?? 0 },
    { name: M.anomalies, unit: 'Count', value: report.emit?.anomalies ?? 0 },
  ];
  if (report.watermark !== null) {
    points.push({ name: M.watermarkLag, unit: 'Milliseconds', value: timing.now - report.watermark });
  }
  for (const view of views) {
    points.push({ name: M.lateEvents, unit: 'Count', value: counters.lateByView[view] ?? 0, view });
  }
  return points;
}

/** The scheduled run: the windows it published while no batch came along, and the anomalies found in them. */
export function scheduledEmitMetrics(report: EmitReport): MetricPoint[] {
  return [
    { name: M.emittedWindows, unit: 'Count', value: report.emitted },
    { name: M.anomalies, unit: 'Count', value: report.anomalies },
  ];
}
