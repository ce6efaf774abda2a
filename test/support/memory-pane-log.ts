/**
 * The pane log, compacted windows and open-window entries in memory, with DynamoDB's semantics (orders of the
 * table's sort keys, conditional writes) and its bills: every call meters the very items the DynamoDB adapters
 * write (their own item builders), so the bench's WCU and RCU are the adapter's. Part of MemoryStateStore.
 */
import { inflateRawSync } from 'node:zlib';
import {
  chunkItem,
  chunkPk,
  compactedBefore,
  compactedListBounds,
  compactedWindowItem,
  compactedWindowKey,
  detectorStatesItem,
  detectorStatesPk,
} from '../../lambdas/adapters/dynamo/compacted-items.ts';
import { deltaItem, deltaItemKeys, deltaSkRange } from '../../lambdas/adapters/dynamo/delta-items.ts';
import { openWindowItems, openWindowsBefore, roundCutKey } from '../../lambdas/adapters/dynamo/outbox-items.ts';
import {
  type DeltaItem,
  type DeltaKey,
  type GroupResult,
  hashKey,
  type ResultChunk,
  unpackResults,
} from '../../lambdas/core/pane-log.ts';
import type {
  CompactedPage,
  CompactedStore,
  CompactedWindow,
  OpenWindows,
  OutboxStore,
  PaneLogStore,
} from '../../lambdas/core/store.ts';
import { type CapacityMeter, type Item, itemKey } from './capacity-meter.ts';

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** A sort key of the `wins|` partition (compactedWindowItem's). */
const windowSk = compactedWindowKey;

interface StoredDelta {
  readonly pk: string;
  readonly sk: string;
  readonly delta: DeltaItem;
  readonly expiresAtS: number;
}

export class MemoryPaneLog implements PaneLogStore, CompactedStore, Omit<OutboxStore, never> {
  /** itemKey → delta, and by partition for Queries. */
  private readonly deltas = new Map<string, Map<string, StoredDelta>>();
  readonly windows = new Map<string, CompactedWindow>();
  /** When each compacted window (by the `windows` key) and its chunks expire (epoch seconds). */
  private readonly windowExpiry = new Map<string, number>();
  private readonly chunks = new Map<string, Map<string, ResultChunk>>();
  /** Detector states, by their `det|` partition key. */
  private readonly states = new Map<string, Map<string, ResultChunk>>();
  private readonly through = new Map<string, number>();
  readonly open = new Map<string, OpenWindows & { viewId: string }>();
  /** Session rounds' cuts, by item key. */
  private readonly cuts = new Map<string, number>();
  /** When set, the n-th delta write from now fails (simulates a crash mid-batch). */
  failDeltaWriteAfter: number | null = null;

  constructor(private readonly meter: CapacityMeter) {}

  async putDeltas(shardId: string, firstSeq: string, items: readonly DeltaItem[], expiresAtS: number): Promise<void> {
    for (const delta of items) {
      if (this.failDeltaWriteAfter !== null && this.failDeltaWriteAfter-- <= 0) {
        this.failDeltaWriteAfter = null;
        throw new Error('simulated crash while writing deltas');
      }
      const item = deltaItem(shardId, firstSeq, delta, expiresAtS);
      this.meter.put('delta', item);
      const pk = item.pk!.S!;
      const sk = item.sk!.S!;
      const partition = this.deltas.get(pk) ?? new Map<string, StoredDelta>();
      partition.set(sk, { pk, sk, delta: { ...delta, data: new Uint8Array(delta.data) }, expiresAtS });
      this.deltas.set(pk, partition);
    }
  }

  async deleteDeltas(shardId: string, firstSeq: string, keys: readonly DeltaKey[]): Promise<void> {
    for (const key of deltaItemKeys(shardId, firstSeq, keys)) {
      this.meter.delete('delta', itemKey(key));
      this.deltas.get(key.pk!.S!)?.delete(key.sk!.S!);
    }
  }

  async *queryDeltas(viewId: string, bucket: number, fromPane: number, toPane: number): AsyncIterable<DeltaItem> {
    if (toPane <= fromPane) return;
    const pk = `log|${viewId}|${bucket}`;
    const { from, to } = deltaSkRange(fromPane, toPane);
    const found = [...(this.deltas.get(pk)?.values() ?? [])]
      .filter((d) => d.sk >= from && d.sk <= to)
      .sort((a, b) => byCodeUnits(a.sk, b.sk));
    this.meter.queryKeys(
      'delta',
      found.map((d) => `${d.pk}|${d.sk}`),
      { consistent: true },
    );
    for (const d of found) yield { ...d.delta };
  }

  async putCompacted(
    w: CompactedWindow,
    chunks: readonly ResultChunk[],
    expiresAtS: number,
    detectorStates: readonly ResultChunk[] = [],
  ): Promise<boolean> {
    this.putChunksOnce(this.chunks, 'chunk', chunkPk(w.viewId, w.windowStart, w.round), chunks, (c) =>
      chunkItem(w, c, expiresAtS),
    );
    this.putChunksOnce(
      this.states,
      'detector',
      detectorStatesPk(w.viewId, w.windowStart, w.round),
      detectorStates,
      (c) => detectorStatesItem(w, c, expiresAtS),
    );
    const key = `${w.viewId}|${windowSk(w)}`;
    const exists = this.windows.has(key);
    this.meter.put('window', compactedWindowItem({ ...w, chunks: chunks.length }, expiresAtS), {
      conditionFailed: exists,
    });
    if (exists) return false;
    this.windows.set(key, { ...w, chunks: chunks.length });
    this.windowExpiry.set(key, expiresAtS);
    return true;
  }

  async getCompacted(
    viewId: string,
    windowEnd: number,
    windowStart: number,
    round: number,
  ): Promise<CompactedWindow | null> {
    const sk = windowSk({ windowEnd, windowStart, round });
    this.meter.readKeys('window', [`wins|${viewId}|${sk}`], { consistent: true, op: 'get' });
    const w = this.windows.get(`${viewId}|${sk}`);
    return w ? { ...w } : null;
  }

  async getLatestCompacted(viewId: string, beforeEnd: number): Promise<CompactedWindow | null> {
    const before = compactedBefore(beforeEnd);
    const latest = [...this.windows.values()]
      .filter((w) => w.viewId === viewId)
      .map((w) => ({ w, sk: windowSk(w) }))
      .filter(({ sk }) => sk < before)
      .sort((a, b) => byCodeUnits(b.sk, a.sk))[0];
    this.meter.queryKeys('window', latest ? [`wins|${viewId}|${latest.sk}`] : [], { consistent: true });
    return latest ? { ...latest.w } : null;
  }

  async getDetectorStates(w: CompactedWindow): Promise<ResultChunk[]> {
    if (!w.detector) return [];
    return this.allChunks(this.states, 'detector', detectorStatesPk(w.viewId, w.windowStart, w.round), true);
  }

  /** Writes each chunk of a partition unless it is there (a conditional put), billed as the adapter's `item`. */
  private putChunksOnce(
    partitions: Map<string, Map<string, ResultChunk>>,
    kind: string,
    pk: string,
    chunks: readonly ResultChunk[],
    item: (chunk: ResultChunk) => Item,
  ): void {
    const stored = partitions.get(pk) ?? new Map<string, ResultChunk>();
    partitions.set(pk, stored);
    for (const chunk of chunks) {
      const sk = hashKey(chunk.lo);
      this.meter.put(kind, item(chunk), { conditionFailed: stored.has(sk) });
      if (!stored.has(sk)) stored.set(sk, { ...chunk, data: new Uint8Array(chunk.data) });
    }
  }

  /** Every chunk of a partition, in hash order, billed as one Query (of kind `kind`). */
  private allChunks(
    partitions: ReadonlyMap<string, ReadonlyMap<string, ResultChunk>>,
    kind: string,
    pk: string,
    consistent: boolean,
  ): ResultChunk[] {
    const found = [...(partitions.get(pk) ?? new Map<string, ResultChunk>())].sort((a, b) => byCodeUnits(a[0], b[0]));
    this.meter.queryKeys(
      kind,
      found.map(([sk]) => `${pk}|${sk}`),
      { consistent },
    );
    return found.map(([, c]) => ({ ...c }));
  }

  async listCompacted(
    viewId: string,
    fromEnd: number,
    untilEnd: number,
    limit: number,
    cursor: string | null,
  ): Promise<CompactedPage> {
    const { from, until } = compactedListBounds(fromEnd, untilEnd, cursor);
    const page = [...this.windows.values()]
      .filter((w) => w.viewId === viewId)
      .map((w) => ({ w, sk: windowSk(w) }))
      .filter(({ sk }) => sk >= from && sk < until)
      .sort((a, b) => byCodeUnits(a.sk, b.sk))
      .slice(0, limit);
    this.meter.queryKeys(
      'window',
      page.map(({ sk }) => `wins|${viewId}|${sk}`),
      { consistent: true },
    );
    const last = page[page.length - 1];
    return { windows: page.map(({ w }) => ({ ...w })), nextCursor: last ? last.sk : cursor };
  }

  async getChunks(w: CompactedWindow): Promise<ResultChunk[]> {
    return this.allChunks(this.chunks, 'chunk', chunkPk(w.viewId, w.windowStart, w.round), false);
  }

  async getChunk(w: CompactedWindow, hash: number): Promise<ResultChunk | null> {
    const pk = chunkPk(w.viewId, w.windowStart, w.round);
    const key = hashKey(hash);
    const below = [...(this.chunks.get(pk)?.keys() ?? [])].filter((sk) => sk <= key).sort(byCodeUnits);
    const sk = below[below.length - 1];
    this.meter.queryKeys('chunk', sk === undefined ? [] : [`${pk}|${sk}`], { consistent: false });
    if (sk === undefined) return null;
    const chunk = this.chunks.get(pk)!.get(sk)!;
    return hash < chunk.hi ? { ...chunk } : null;
  }

  async getCompactedThrough(viewId: string): Promise<number | null> {
    this.meter.readKeys('window', [`wins|${viewId}|~through`], { consistent: true, op: 'get' });
    return this.through.get(viewId) ?? null;
  }

  async raiseCompactedThrough(viewId: string, readyAt: number): Promise<void> {
    const current = this.through.get(viewId);
    const raised = current === undefined || readyAt > current;
    this.meter.put(
      'window',
      { pk: { S: `wins|${viewId}` }, sk: { S: '~through' }, t: { N: String(readyAt) } },
      {
        conditionFailed: !raised,
      },
    );
    if (raised) this.through.set(viewId, readyAt);
  }

  async putOpenWindows(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>): Promise<void> {
    for (const [i, item] of openWindowItems(viewId, tag, entries).entries()) {
      const key = item.sk!.S!;
      // Written once (a conditional put).
      const exists = this.open.has(`${viewId}|${key}`);
      this.meter.put('open', item, { conditionFailed: exists });
      if (!exists) this.open.set(`${viewId}|${key}`, { ...entries[i]!, key, viewId });
    }
  }

  async fixRoundCut(viewId: string, windowStart: number, round: number, cut: number, expiresAtS: number) {
    const key = roundCutKey(viewId, windowStart, round);
    const fixed = this.cuts.get(itemKey(key)) ?? cut;
    this.meter.put('open', { ...key, cut: { N: String(fixed) }, expiresAt: { N: String(expiresAtS) } });
    this.cuts.set(itemKey(key), fixed);
    return fixed;
  }

  async listOpenWindows(viewId: string, readyBy: number, limit: number): Promise<OpenWindows[]> {
    if (readyBy < 0) return [];
    const before = openWindowsBefore(readyBy);
    const page = [...this.open.values()]
      .filter((e) => e.viewId === viewId && e.key < before)
      .sort((a, b) => byCodeUnits(a.key, b.key))
      .slice(0, limit);
    this.meter.queryKeys(
      'open',
      page.map((e) => `open|${viewId}|${e.key}`),
      { consistent: true },
    );
    return page.map(({ viewId: _, ...e }) => ({ ...e }));
  }

  async deleteOpenWindows(viewId: string, key: string): Promise<void> {
    this.meter.delete('open', `open|${viewId}|${key}`);
    this.open.delete(`${viewId}|${key}`);
  }

  /**
   * What DynamoDB's TTL does (some time) after `nowS`: deletes every delta and compacted window (with its
   * chunks) whose `expiresAt` is at or before it.
   */
  expire(nowS: number): void {
    for (const partition of this.deltas.values()) {
      for (const [sk, d] of partition) {
        if (d.expiresAtS > nowS) continue;
        partition.delete(sk);
        this.meter.store(`${d.pk}|${sk}`, undefined);
      }
    }
    for (const [key, w] of this.windows) {
      if ((this.windowExpiry.get(key) ?? Number.POSITIVE_INFINITY) > nowS) continue;
      this.windows.delete(key);
      this.chunks.delete(chunkPk(w.viewId, w.windowStart, w.round));
      this.states.delete(detectorStatesPk(w.viewId, w.windowStart, w.round));
    }
  }

  /** Events in the live delta items (their counts), of one pane start and view-id prefix if given (tests). */
  events(paneStart?: number, viewIdPrefix = ''): number {
    let n = 0;
    for (const partition of this.deltas.values()) {
      for (const { delta } of partition.values()) {
        if (paneStart !== undefined && delta.paneStart !== paneStart) continue;
        if (!delta.viewId.startsWith(viewIdPrefix)) continue;
        const rows = JSON.parse(inflateRawSync(delta.data).toString('utf8')) as Array<[string, number]>;
        for (const row of rows) n += row[1];
      }
    }
    return n;
  }

  /** Every published result (compacted windows of views that publish), for tests. */
  published(): Array<GroupResult & { viewId: string }> {
    const out: Array<GroupResult & { viewId: string }> = [];
    for (const w of this.windows.values()) {
      if (!w.publish) continue;
      for (const chunk of this.chunks.get(chunkPk(w.viewId, w.windowStart, w.round))?.values() ?? []) {
        for (const r of unpackResults(chunk.data)) out.push({ ...r, viewId: w.viewId });
      }
    }
    return out;
  }
}
