import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../lambdas/core/config.ts';
import { windowAssigner } from '../../../lambdas/core/windows/index.ts';

const windowOf = (window: object) =>
  normalizeConfig({ views: [{ name: 'v', groupBy: [], window, measures: [{ fn: 'count' }] }] }).views[0]!.window;

describe('sliding window assigner (10 s windows every 4 s, 2 s panes)', () => {
  const sliding = windowAssigner(windowOf({ type: 'sliding', size: '10s', slide: '4s' }));

  it('puts an event in the pane of its time', () => {
    expect(sliding.paneOf(13_500)).toBe(12_000);
  });

  it('lists the windows a pane belongs to, each ready at its end', () => {
    expect(sliding.windowsOfPane(12_000)).toEqual([
      { windowStart: 4_000, readyAt: 14_000 },
      { windowStart: 8_000, readyAt: 18_000 },
      { windowStart: 12_000, readyAt: 22_000 },
    ]);
  });

  it('names the end of the earliest window that still contains an event', () => {
    expect(sliding.earliestWindowEnd(13_500)).toBe(14_000);
  });

  it('reads the panes up to the end of the last window starting in the range', () => {
    expect(sliding.paneRange(8_000, 16_000)).toEqual({ from: 8_000, to: 22_000 });
  });

  it('stands an open-window entry for its one window', () => {
    expect(sliding.entryWindows(8_000)).toEqual({ from: 8_000, to: 8_001 });
  });
});

describe('tumbling window assigner', () => {
  it('has one window per pane', () => {
    const tumbling = windowAssigner(windowOf({ type: 'tumbling', size: '10s' }));
    expect(tumbling.windowsOfPane(20_000)).toEqual([{ windowStart: 20_000, readyAt: 30_000 }]);
  });
});

describe('session window assigner (gap 10 s)', () => {
  const session = windowAssigner(windowOf({ type: 'session', gap: '10s' }));

  it('readies a bucket one gap after it starts: the earliest end of a session starting in it', () => {
    expect(session.windowsOfPane(20_000)).toEqual([{ windowStart: 20_000, readyAt: 30_000 }]);
  });

  it('lets an event extend any session that ends after it', () => {
    expect(session.earliestWindowEnd(25_000)).toBe(25_000);
  });

  it('reads from the bucket before, where a session crossing into the range starts, open-ended after', () => {
    expect(session.paneRange(25_000, 30_000)).toEqual({ from: 10_000, to: 10 ** 15 - 1 });
  });

  it('stands an open-window entry for the sessions starting in its bucket', () => {
    expect(session.entryWindows(20_000)).toEqual({ from: 20_000, to: 30_000 });
  });
});
