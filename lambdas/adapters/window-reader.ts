/**
 * Reads a group's window results from stored pane partials: the one read path of the results API and the
 * emitter. Panes of every shard are merged; windows are composed by the view's window kind.
 */
import type { ViewSpec } from '../core/config.ts';
import { viewIdOf } from '../core/group.ts';
import { ViewMeasures } from '../core/pane.ts';
import type { StateStore } from '../core/store.ts';
import {
  type ComposedPage,
  type ComposeRequest,
  END_OF_TIME,
  type WindowAssigner,
  windowAssigner,
} from '../core/windows/index.ts';

export { END_OF_TIME };

export class WindowReader {
  readonly viewId: string;
  readonly measures: ViewMeasures;
  readonly windows: WindowAssigner;

  constructor(
    readonly view: ViewSpec,
    private readonly store: Pick<StateStore, 'queryPanes'>,
  ) {
    this.viewId = viewIdOf(view);
    this.measures = new ViewMeasures(view);
    this.windows = windowAssigner(view.window);
  }

  /** Windows of one group whose start is in [req.from, req.to), ascending. */
  read(groupKey: string, req: ComposeRequest): Promise<ComposedPage> {
    const range = this.windows.paneRange(req.from, req.to);
    return this.windows.compose(this.measures, this.panes(groupKey, range.from, range.to), req);
  }

  private async *panes(groupKey: string, fromPane: number, toPane: number) {
    for await (const p of this.store.queryPanes(this.viewId, groupKey, fromPane, Math.min(toPane, END_OF_TIME))) {
      yield { paneStart: p.paneStart, partial: this.measures.decode(p.count, p.minTime, p.maxTime, p.partials) };
    }
  }
}
