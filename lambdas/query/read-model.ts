/** What the read routes answer from: the views, the store, a WindowReader per view and the results watermark. */
import { shardIdleAfterMs } from '../../config/event-source.ts';
import type { DynamoStateStore } from '../adapters/dynamo-state-store.ts';
import { HttpError } from '../adapters/http.ts';
import { WindowReader } from '../adapters/window-reader.ts';
import type { PipelineConfig, ViewSpec } from '../core/config.ts';
import type { ShardState } from '../core/store.ts';
import { pipelineWatermark, resultsWatermark, type WatermarkSettings } from '../core/watermark.ts';
import type { QUERY_STORE_CALLS } from './permissions.ts';

/** The store typed to the calls the query function is granted (./permissions.ts): anything else does not compile. */
export type QueryStore = Pick<DynamoStateStore, (typeof QUERY_STORE_CALLS)[number]>;

export class ReadModel {
  readonly watermarks: WatermarkSettings;
  private readonly readers: ReadonlyMap<string, WindowReader>;

  constructor(
    readonly config: PipelineConfig,
    readonly store: QueryStore,
  ) {
    this.watermarks = {
      outOfOrdernessMs: config.outOfOrdernessMs,
      idleAfterMs: shardIdleAfterMs(config.idleTimeoutMs),
    };
    this.readers = new Map(config.views.map((v) => [v.name, new WindowReader(v, store, store)]));
  }

  /** The view named `name`; a 404 listing the views when there is none. */
  view(name: string): ViewSpec {
    const view = this.config.views.find((v) => v.name === name);
    if (!view) {
      throw new HttpError(
        404,
        `view '${name}' does not exist; views: ${this.config.views.map((v) => v.name).join(', ')}`,
      );
    }
    return view;
  }

  reader(view: ViewSpec): WindowReader {
    return this.readers.get(view.name)!;
  }

  /** The watermark results are final against (see resultsWatermark), from `states` when already read. */
  async resultsWatermark(states?: readonly ShardState[]): Promise<number | null> {
    const [shards, emittedThrough] = await Promise.all([
      states ?? this.store.getShardStates(),
      this.store.getEmittedThrough(),
    ]);
    return resultsWatermark(pipelineWatermark(shards, Date.now(), this.watermarks), emittedThrough);
  }
}
