import { describe, expect, it } from 'vitest';
import {
  boundedEventTime,
  pipelineWatermark,
  resultsWatermark,
  type ShardWatermark,
  shardWatermark,
} from '../../lambdas/core/watermark.ts';

const settings = { outOfOrdernessMs: 4_000, idleAfterMs: 90_000 };
const NOW = 1_000_000;
const shard = (shardId: string, maxEventTime: number | null, lastActivityMs = NOW): ShardWatermark => ({
  shardId,
  maxEventTime,
  watermarkFloor: null,
  lastActivityMs,
});

describe('shard watermark', () => {
  it('is the largest event time minus the out-of-orderness', () => {
    expect(shardWatermark({ maxEventTime: 50_000, watermarkFloor: null }, 4_000)).toBe(46_000);
  });

  it('never goes below its floor', () => {
    expect(shardWatermark({ maxEventTime: 50_000, watermarkFloor: 60_000 }, 4_000)).toBe(60_000);
  });

  it('is −∞ before the first event', () => {
    expect(shardWatermark({ maxEventTime: null, watermarkFloor: null }, 4_000)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('counts an event at most the out-of-orderness after its record arrived', () => {
    expect(boundedEventTime(3_600_000, 10_000, 4_000)).toBe(14_000);
    expect(boundedEventTime(9_000, 10_000, 4_000)).toBe(9_000);
  });
});

describe('pipeline watermark', () => {
  it('is the minimum over active shards', () => {
    expect(pipelineWatermark([shard('a', 50_000), shard('b', 30_000)], NOW, settings)).toBe(26_000);
  });

  it('leaves out a shard idle for longer than the idle time', () => {
    const idle = shard('b', 30_000, NOW - 90_001);
    expect(pipelineWatermark([shard('a', 50_000), idle], NOW, settings)).toBe(46_000);
  });

  it('is the highest any shard reached when every shard is idle', () => {
    const old = NOW - 100_000;
    expect(pipelineWatermark([shard('a', 50_000, old), shard('b', 30_000, old)], NOW, settings)).toBe(46_000);
  });

  it('is held back entirely (null) by an active shard that has seen no event yet', () => {
    expect(pipelineWatermark([shard('a', 50_000), shard('b', null)], NOW, settings)).toBeNull();
  });

  it('ignores the shards of redriven batches', () => {
    expect(pipelineWatermark([shard('a', 50_000), shard('redrive:a:1', 1_000)], NOW, settings)).toBe(46_000);
  });
});

describe('results watermark', () => {
  it('is the higher of the pipeline watermark and the watermark windows were published at', () => {
    expect(resultsWatermark(40_000, 45_000)).toBe(45_000);
    expect(resultsWatermark(50_000, 45_000)).toBe(50_000);
  });

  it('is the published watermark while the pipeline has none', () => {
    expect(resultsWatermark(null, 45_000)).toBe(45_000);
    expect(resultsWatermark(null, null)).toBeNull();
  });
});
