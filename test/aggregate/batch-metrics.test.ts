import { describe, expect, it } from 'vitest';
import { batchMetrics, scheduledEmitMetrics } from '../../lambdas/aggregate/batch-metrics.ts';
import type { BatchReport } from '../../lambdas/aggregate/shard-processor.ts';

const T = Date.UTC(2026, 10, 24, 10, 0, 0);
const report = (over: Partial<BatchReport> = {}): BatchReport => ({
  shardId: 'shardId-000000000000',
  records: 3,
  skippedRecords: 0,
  deltaItems: 2,
  replacedItems: 0,
  counters: { processed: 40, late: 3, lateByView: { hot: 2, all: 1 }, deadLettered: 1, duplicates: 5 },
  watermark: T - 6_000,
  emit: { emitted: 4, anomalies: 1, entries: 4, failed: 0 },
  ...over,
});

describe('batchMetrics', () => {
  it("reports a batch's counters as counts, the way GET /status adds them up", () => {
    // GIVEN a batch that processed 40 events, 3 of them late, 1 dead-lettered, 5 dropped as repeats
    // WHEN its metrics are taken
    const points = batchMetrics(report(), ['all', 'hot'], { startedAt: T - 250, now: T });
    // THEN each counter is one count without a view
    const totals = points.filter((p) => p.view === undefined && p.unit === 'Count');
    expect(totals).toEqual([
      { name: 'EventsProcessed', unit: 'Count', value: 40 },
      { name: 'LateEvents', unit: 'Count', value: 3 },
      { name: 'DeadLetteredEvents', unit: 'Count', value: 1 },
      { name: 'DuplicateEvents', unit: 'Count', value: 5 },
      { name: 'EmittedWindows', unit: 'Count', value: 4 },
      { name: 'Anomalies', unit: 'Count', value: 1 },
    ]);
  });

  it('reports late events per view, 0 for a view without any', () => {
    const points = batchMetrics(report(), ['all', 'hot', 'quiet'], { startedAt: T - 250, now: T });
    expect(points.filter((p) => p.view !== undefined)).toEqual([
      { name: 'LateEvents', unit: 'Count', value: 1, view: 'all' },
      { name: 'LateEvents', unit: 'Count', value: 2, view: 'hot' },
      { name: 'LateEvents', unit: 'Count', value: 0, view: 'quiet' },
    ]);
  });

  it("reports the watermark's lag behind wall time and the batch's duration in milliseconds", () => {
    const points = batchMetrics(report({ watermark: T - 6_000 }), [], { startedAt: T - 250, now: T });
    expect(points.filter((p) => p.unit === 'Milliseconds')).toEqual([
      { name: 'BatchDuration', unit: 'Milliseconds', value: 250 },
      { name: 'WatermarkLag', unit: 'Milliseconds', value: 6_000 },
    ]);
  });

  it('reports no watermark lag for a batch of records already applied (it moved nothing)', () => {
    const points = batchMetrics(report({ watermark: null, records: 0 }), [], { startedAt: T - 5, now: T });
    expect(points.map((p) => p.name)).not.toContain('WatermarkLag');
  });

  it('counts no emitted windows when the batch emitted none', () => {
    const points = batchMetrics(report({ emit: undefined }), [], { startedAt: T, now: T });
    expect(points.find((p) => p.name === 'EmittedWindows')?.value).toBe(0);
  });
});

describe('scheduledEmitMetrics', () => {
  it('reports the windows the scheduled run published and the anomalies found in them', () => {
    expect(scheduledEmitMetrics({ emitted: 7, anomalies: 2, entries: 9, failed: 2, firstError: 'throttled' })).toEqual([
      { name: 'EmittedWindows', unit: 'Count', value: 7 },
      { name: 'Anomalies', unit: 'Count', value: 2 },
    ]);
  });
});
