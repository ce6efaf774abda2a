/**
 * Reads a group's window results from stored pane partials: the one read path of the results API and the
 * emitter. Panes of every shard are merged; windows are composed by the view's window kind.
 */
import type { ViewSpec } from '../core/config.ts';
import { viewVersion } from '../core/group.ts';
import { ViewMeasures } from '../core/pane.ts';
import { type ComposedPage, type ComposeRequest, paneRangeFor, readSessions, readWindows } from '../core/results.ts';
import { paneStartOf } from '../core/windows.ts';
import type { StateStore } from './state-store.ts';

/** Pane starts are stored with 15 digits: the end of representable time. */
export const END_OF_TIME = 10 ** 15 - 1;

export class WindowReader {
  readonly viewId: string;
  readonly measures: ViewMeasures;

  constructor(
    readonly view: ViewSpec,
    private readonly store: Pick<StateStore, 'queryPanes'>,
  ) {
    this.viewId = `${view.name}@${viewVersion(view)}`;
    this.measures = new ViewMeasures(view);
  }

  /** Windows of one group whose start is in [req.from, req.to), ascending. */
  read(groupKey: string, req: ComposeRequest): Promise<ComposedPage> {
    const window = this.view.window;
    if (window.type === 'session') {
      // From one bucket before from's bucket (a session crossing into it starts there), open-ended after
      // `to`, because a session that starts before `to` may run past it. Reading stops once the page is full.
      const from = paneStartOf(req.from, window.paneMs) - window.paneMs;
      return readSessions(window.gapMs, this.measures, this.panes(groupKey, from, END_OF_TIME), req);
    }
    const range = paneRangeFor(window, req.from, req.to);
    return readWindows(window, this.measures, this.panes(groupKey, range.from, range.to), req);
  }

  private async *panes(groupKey: string, fromPane: number, toPane: number) {
    for await (const p of this.store.queryPanes(this.viewId, groupKey, fromPane, Math.min(toPane, END_OF_TIME))) {
      yield { paneStart: p.paneStart, partial: this.measures.decode(p.count, p.minTime, p.maxTime, p.partials) };
    }
  }
}
