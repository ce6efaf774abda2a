/** GET /views: the views as configured, with the event-time field and the watermark settings. */
import type { HandlerConfig } from '../../adapters/environment.ts';

/**
 * The views as written, with the watermark settings normalized to milliseconds beside them: a client that builds
 * events for a deployment it did not configure, such as `npm run smoke`, needs to know which field carries
 * event time and how long windows take to turn final.
 */
export function views({ raw, spec }: HandlerConfig) {
  return {
    views: raw.views,
    eventTimeField: spec.eventTimeField,
    watermark: {
      outOfOrdernessMs: spec.outOfOrdernessMs,
      allowedLatenessMs: spec.allowedLatenessMs,
      idleTimeoutMs: spec.idleTimeoutMs,
    },
  };
}
