import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPipelineMetrics, publishMetrics } from '../../lambdas/adapters/observability.ts';

interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}

describe('publishMetrics', () => {
  let stdout: string[];

  beforeEach(() => {
    stdout = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const documents = (): EmfDocument[] => stdout.map((line) => JSON.parse(line) as EmfDocument);

  it('writes the points without a view as one EMF document in the Eddy namespace, dimension service', () => {
    // GIVEN metrics enabled, as on AWS
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'eddy');
    // WHEN ingest's points are published
    publishMetrics(
      [
        { name: 'EventsAccepted', unit: 'Count', value: 98 },
        { name: 'EventsRejected', unit: 'Count', value: 2 },
      ],
      createPipelineMetrics(),
    );
    // THEN one document carries both, with their units, under service=eddy
    const [doc, ...rest] = documents();
    expect(rest).toEqual([]);
    expect(doc?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Eddy',
        Dimensions: [['service']],
        Metrics: [
          { Name: 'EventsAccepted', Unit: 'Count' },
          { Name: 'EventsRejected', Unit: 'Count' },
        ],
      },
    ]);
    expect(doc).toMatchObject({ service: 'eddy', EventsAccepted: 98, EventsRejected: 2 });
  });

  it("writes each view's points in a document of its own, with the view dimension", () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    publishMetrics(
      [
        { name: 'LateEvents', unit: 'Count', value: 3 },
        { name: 'LateEvents', unit: 'Count', value: 1, view: 'all' },
        { name: 'LateEvents', unit: 'Count', value: 2, view: 'hot' },
      ],
      createPipelineMetrics(),
    );
    expect(documents().map((d) => [d._aws.CloudWatchMetrics[0]?.Dimensions, d.view, d.LateEvents])).toEqual([
      [[['service']], undefined, 3],
      [[['service', 'view']], 'all', 1],
      [[['service', 'view']], 'hot', 2],
    ]);
  });

  it('writes nothing with POWERTOOLS_METRICS_DISABLED=true, as the local runtime and the tests set it', () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    publishMetrics([{ name: 'EventsProcessed', unit: 'Count', value: 5 }], createPipelineMetrics());
    expect(stdout).toEqual([]);
  });
});
