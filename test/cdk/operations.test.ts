import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../config/load.ts';
import { buildEddyApp, type EddyFixture, logicalIdOf, policyActions } from './eddy-app-fixture.ts';

interface Widget {
  type: string;
  width: number;
  properties: {
    title: string;
    alarms?: string[];
    metrics?: Array<Array<string | { stat?: string; period?: number; label?: string }>>;
    annotations?: { horizontal: Array<{ value: number; label: string }> };
  };
}

/**
 * The dashboard's widgets, its body's `Fn::Join` put back together with each reference written as
 * `<Ref:id>` or `<GetAtt:id>`.
 */
function dashboardWidgets(template: Template): Widget[] {
  const [dashboard, ...others] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  if (!dashboard || others.length > 0)
    throw new Error(`expected one dashboard, found ${others.length + (dashboard ? 1 : 0)}`);
  const [, parts] = dashboard.Properties.DashboardBody['Fn::Join'] as [string, unknown[]];
  const body = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return ref.Ref ? `<Ref:${ref.Ref}>` : `<GetAtt:${ref['Fn::GetAtt']![0]}>`;
    })
    .join('');
  return (JSON.parse(body) as { widgets: Widget[] }).widgets;
}

/** A graph's series as `namespace/name [dimension=value ...] stat`. */
function series(widget: Widget | undefined): string[] {
  return (widget?.properties.metrics ?? []).map((metric) => {
    const names = metric.filter((m): m is string => typeof m === 'string');
    const options = metric.find((m) => typeof m !== 'string') as { stat?: string; period?: number } | undefined;
    const dimensions = [];
    for (let i = 2; i < names.length; i += 2) dimensions.push(`${names[i]}=${names[i + 1]}`);
    return [`${names[0]}/${names[1]}`, ...dimensions, `${options?.stat}/${options?.period}s`].join(' ');
  });
}

describe('EddyStateless operations dashboard', () => {
  let fx: EddyFixture;
  let widgets: Widget[];
  const widget = (title: string) => widgets.find((w) => w.properties.title.startsWith(title));

  beforeAll(async () => {
    // GIVEN the default app (config/views.ts)
    // WHEN it is synthesized
    fx = await buildEddyApp();
    widgets = dashboardWidgets(fx.statelessTemplate);
  });

  it('is named after the stack', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'EddyStateless-operations',
    });
  });

  it('shows the state of every pipeline alarm', () => {
    const alarms = Object.keys(fx.statelessTemplate.findResources('AWS::CloudWatch::Alarm'));
    expect(widget('Alarms')?.properties.alarms?.sort()).toEqual(alarms.map((id) => `<GetAtt:${id}>`).sort());
  });

  it('graphs events accepted and rejected at ingest and processed by the aggregator, summed per minute', () => {
    expect(series(widget('Events per minute'))).toEqual([
      'Eddy/EventsAccepted service=eddy Sum/60s',
      'Eddy/EventsRejected service=eddy Sum/60s',
      'Eddy/EventsProcessed service=eddy Sum/60s',
    ]);
  });

  it('graphs late, dead-lettered and duplicate events', () => {
    expect(series(widget('Events in no window result'))).toEqual([
      'Eddy/LateEvents service=eddy Sum/60s',
      'Eddy/DeadLetteredEvents service=eddy Sum/60s',
      'Eddy/DuplicateEvents service=eddy Sum/60s',
    ]);
  });

  it("graphs the watermark lag beside the aggregate function's iterator age, with both alarms' thresholds", () => {
    const lag = widget('How far behind');
    expect(series(lag)).toEqual([
      'Eddy/WatermarkLag service=eddy Maximum/60s',
      `AWS/Lambda/IteratorAge FunctionName=<Ref:${logicalIdOf(fx.stateless.aggregate)}> Maximum/60s`,
    ]);
    expect(lag?.properties.annotations?.horizontal.map((a) => a.value)).toEqual([64_000, 60_000]);
  });

  it('graphs late events per view, one series for each view of the config', async () => {
    const { spec } = await loadConfigFile();
    expect(series(widget('Late events per view'))).toEqual(
      spec.views.map((view) => `Eddy/LateEvents service=eddy view=${view.name} Sum/60s`),
    );
  });

  it('graphs batch duration (median, p99, maximum) and the windows emitted', () => {
    expect(series(widget('Batch duration'))).toEqual([
      'Eddy/BatchDuration service=eddy p50/60s',
      'Eddy/BatchDuration service=eddy p99/60s',
      'Eddy/BatchDuration service=eddy Maximum/60s',
    ]);
    expect(series(widget('Windows emitted'))).toEqual(['Eddy/EmittedWindows service=eddy Sum/60s']);
  });

  it('graphs the anomalies the views’ detectors report', () => {
    expect(series(widget('Anomalies reported'))).toEqual(['Eddy/Anomalies service=eddy Sum/60s']);
  });

  it('prints a link to the dashboard in the console of its region', () => {
    fx.statelessTemplate.hasOutput('OperationsDashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: 'AWS::Region' },
            '.console.aws.amazon.com/cloudwatch/home?region=',
            { Ref: 'AWS::Region' },
            '#dashboards:name=',
            { Ref: logicalIdOf(fx.stateless.node.findChild('Operations').node.findChild('Dashboard')) },
          ],
        ],
      },
    });
  });
});

describe('EddyStateless pipeline metrics (EMF)', () => {
  let fx: EddyFixture;
  const functions = ['ingest', 'aggregate', 'query', 'publish', 'onFailure'] as const;

  beforeAll(async () => {
    // GIVEN the default app
    // WHEN it is synthesized
    fx = await buildEddyApp();
  });

  it.each(functions)('grants %s no cloudwatch action: metrics are log lines, not PutMetricData calls', (name) => {
    const actions = policyActions(fx.statelessTemplate, fx.stateless[name].role!);
    expect(actions.filter((a) => a.startsWith('cloudwatch:'))).toEqual([]);
  });

  it.each(['ingest', 'aggregate'] as const)('lets %s, which writes metrics, write to its log group', (name) => {
    const actions = policyActions(fx.statelessTemplate, fx.stateless[name].role!);
    expect(actions).toEqual(expect.arrayContaining(['logs:CreateLogStream', 'logs:PutLogEvents']));
  });
});
