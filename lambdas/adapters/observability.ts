/**
 * Metrics and traces of the handlers, with Powertools for AWS Lambda.
 *
 * Metrics are CloudWatch embedded metric format (EMF): one JSON line per flush on stdout, which Lambda writes
 * to the function's log group and CloudWatch turns into metrics. No `cloudwatch:PutMetricData` call is made,
 * so no IAM permission is needed beyond writing to the log group, which every function already has.
 *
 * Both are created on first use, not when this module loads: the local runtime imports the SDK-client module
 * (and so this one) before its main() sets its defaults, `POWERTOOLS_METRICS_DISABLED=true` and
 * `POWERTOOLS_TRACE_ENABLED=false` (local/main.ts, vitest.config.ts), which each reads when it is created.
 * The tracer is off anyway outside Lambda (no `AWS_EXECUTION_ENV`): there is no X-Ray daemon to send to.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { METRICS_NAMESPACE, type MetricPoint, SERVICE_NAME, VIEW_DIMENSION } from './pipeline-metrics.ts';

const serviceName = (): string => process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME;

let metrics: Metrics | undefined;
let tracer: Tracer | undefined;

/** The handlers' tracer: X-Ray subsegments for the handler and, through the SDK clients, for each AWS call. */
export function handlerTracer(): Tracer {
  tracer ??= new Tracer({ serviceName: serviceName() });
  return tracer;
}

/** Eddy's metrics in its namespace, for the function's service; reads `POWERTOOLS_METRICS_*` now. */
export function createPipelineMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceName() });
}

function pipelineMetrics(): Metrics {
  metrics ??= createPipelineMetrics();
  return metrics;
}

/**
 * Writes `points` as EMF, one flush per view (a flush's dimensions apply to all its metrics): the points
 * without a view carry `service` only, the others `service` and `view`.
 */
export function publishMetrics(points: readonly MetricPoint[], target: Metrics = pipelineMetrics()): void {
  const byView = new Map<string | undefined, MetricPoint[]>();
  for (const point of points) byView.set(point.view, [...(byView.get(point.view) ?? []), point]);
  for (const [view, group] of byView) {
    for (const point of group) target.addMetric(point.name, MetricUnit[point.unit], point.value);
    if (view !== undefined) target.addDimension(VIEW_DIMENSION, view);
    target.publishStoredMetrics();
  }
}

/**
 * Runs `handler` in a subsegment `## <name>` annotated with `ColdStart` and `Service`, its error (if any)
 * recorded as metadata, the way Powertools' `captureLambdaHandler` does for class handlers. With tracing
 * off it calls `handler` and nothing else.
 */
export function tracedHandler<A extends unknown[], R>(
  name: string,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    const t = handlerTracer();
    if (!t.isTracingEnabled()) return handler(...args);
    const segment = t.getSegment();
    const subsegment = segment?.addNewSubsegment(`## ${name}`);
    if (subsegment) t.setSegment(subsegment);
    t.annotateColdStart();
    t.addServiceNameAnnotation();
    try {
      return await handler(...args);
    } catch (err) {
      t.addErrorAsMetadata(err as Error);
      throw err;
    } finally {
      if (segment && subsegment) {
        subsegment.close();
        t.setSegment(segment);
      }
    }
  };
}
