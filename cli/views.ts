/** GET /views, read into the same normalized form the pipeline uses (measure result names, windows in ms). */
import { type EddyConfig, normalizeConfig, type PipelineConfig, type ViewSpec } from '../lambdas/core/config.ts';
import { type Api, UnreadableAnswerError } from './connection.ts';

interface ViewsReply {
  readonly views: EddyConfig['views'];
  readonly eventTimeField?: string;
  readonly watermark?: { readonly outOfOrdernessMs: number; readonly allowedLatenessMs: number };
}

export async function readViews(api: Api): Promise<PipelineConfig> {
  const reply = await api.get<ViewsReply>('/views');
  try {
    return normalizeConfig({
      eventTimeField: reply.eventTimeField,
      watermark: reply.watermark && {
        outOfOrderness: reply.watermark.outOfOrdernessMs,
        allowedLateness: reply.watermark.allowedLatenessMs,
      },
      views: reply.views,
    });
  } catch (err) {
    throw new UnreadableAnswerError(`GET /views returned views this CLI cannot read: ${(err as Error).message}`);
  }
}

export function findView(config: PipelineConfig, name: string): ViewSpec | undefined {
  return config.views.find((v) => v.name === name);
}
