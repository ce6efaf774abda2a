/**
 * A model of what DynamoDB bills, for the bench and the in-memory store: item sizes by DynamoDB's rules, write
 * and read units per request as on-demand mode charges them, and the bytes the table holds.
 *
 * Sizes follow the developer guide ("Item sizes and formats") and dynalite's `itemSize` (checked against it in
 * test/support/capacity-meter.test.ts), except that strings and attribute names count UTF-8 bytes, as DynamoDB
 * does, where dynalite counts UTF-16 code units.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

/** A write unit covers 1 KB of the larger of the item written and the item it replaces. */
const WRITE_UNIT_BYTES = 1024;
/** A read unit covers 4 KB read with strong consistency, 8 KB eventually consistent. */
const READ_UNIT_BYTES = 4096;
/** A Query page ends after 1 MB of items evaluated: each page is a request, its size rounded up on its own. */
const QUERY_PAGE_BYTES = 1024 * 1024;
/** DynamoDB adds 100 bytes of indexing overhead to every item it stores (and bills storage on). */
const STORED_ITEM_OVERHEAD_BYTES = 100;

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Bytes of a number as DynamoDB stores it: base-100 digit pairs aligned on the decimal point, one byte of
 * exponent, one more for a negative number; zero is one byte. Leading and trailing zeros do not count.
 */
function numberSize(text: string): number {
  const match = /^([+-]?)(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`not a DynamoDB number: ${JSON.stringify(text)} (expected decimal digits)`);
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  const digits = whole + fraction;
  const first = digits.search(/[1-9]/);
  if (first === -1) return 1;
  const significant = digits.slice(first).replace(/0+$/, '');
  // Decimal exponent of the first significant digit (123 → 2, 0.05 → -2).
  const e = whole.length - 1 - first + Number(exponent);
  const n = significant.length;
  // An even exponent puts the first digit alone in its pair: one more byte unless an odd count evens it out.
  const pairs = Math.ceil(n / 2) + (n % 2 === 0 && e % 2 === 0 ? 1 : 0);
  return 1 + pairs + (sign === '-' ? 1 : 0);
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  // A list or map: 3 bytes, plus 1 per element, plus its elements (and a map's attribute names).
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M !== undefined) return 3 + Object.keys(value.M).length + itemSize(value.M);
  throw new Error(
    `unknown attribute value ${JSON.stringify(Object.keys(value))} (expected S, N, B, BOOL, NULL, SS, NS, BS, L or M)`,
  );
}

/** An item's size as DynamoDB counts it against capacity and the 400 KB limit: names plus values, in bytes. */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueSize(value);
  return size;
}

function unitsOfBytes(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

/** The key the meter keeps an item under: its partition and sort keys (`pk`, `sk`), as the table's. */
export function itemKey(item: Item): string {
  return `${item.pk?.S ?? ''}|${item.sk?.S ?? ''}`;
}

/** Write units of one item written (put, update, delete): the larger of before and after, per started KB, at least 1. */
export function writeUnits(item: Item | undefined, previous?: Item): number {
  return unitsOfBytes(Math.max(item ? itemSize(item) : 0, previous ? itemSize(previous) : 0));
}

function readUnits(bytes: number, consistent: boolean): number {
  // A read of nothing (a missing item, an empty Query) is still billed one unit.
  const units = Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
  return consistent ? units : units / 2;
}

export interface ReadOptions {
  /** Strongly consistent reads cost twice what eventually consistent ones do. */
  readonly consistent: boolean;
  /**
   * `query`: one Query page, billed on the total size of its items, rounded up once. `get`: one GetItem or
   * BatchGetItem, billed item by item, each rounded up (a key with no item costs the minimum).
   */
  readonly op: 'query' | 'get';
}

export interface KindTotals {
  wcu: number;
  rcu: number;
  /** Items written or deleted (each entry of a BatchWriteItem counts). */
  writes: number;
  /** Read requests: GetItem, BatchGetItem calls, Query pages. */
  reads: number;
}

export interface CapacityTotals {
  readonly wcu: number;
  readonly rcu: number;
  readonly writeRequests: number;
  readonly readRequests: number;
  /** Bytes the table holds: every live item's size plus DynamoDB's 100 bytes of overhead per item. */
  readonly storedBytes: number;
  /** Live items. */
  readonly items: number;
  readonly byKind: Readonly<Record<string, Readonly<KindTotals>>>;
}

/** DynamoDB's item size limit. */
export const MAX_ITEM_BYTES = 400 * 1024;

/**
 * Meters DynamoDB requests as on-demand mode bills them, by kind of item (a label the caller picks: `pane`,
 * `shard`, ...), and keeps the size of every live item.
 */
export class CapacityMeter {
  private byKind = new Map<string, KindTotals>();
  private readonly live = new Map<string, number>();
  private liveBytes = 0;

  /**
   * One item written: a PutItem, UpdateItem or DeleteItem (`item` undefined), or one entry of a BatchWriteItem.
   * `previous` is the item replaced, if any. A conditional write whose condition fails is billed too, on the
   * existing item's size alone: pass `{ conditionFailed: true }`.
   */
  write(kind: string, item: Item | undefined, previous?: Item, options?: { readonly conditionFailed?: boolean }): void {
    const totals = this.kind(kind);
    totals.wcu += options?.conditionFailed ? writeUnits(undefined, previous) : writeUnits(item, previous);
    totals.writes++;
  }

  /** One read request: a GetItem or BatchGetItem (`undefined` for a key with no item), or one Query page. */
  read(kind: string, items: ReadonlyArray<Item | undefined>, options: ReadOptions): void {
    const totals = this.kind(kind);
    if (options.op === 'query') {
      const bytes = items.reduce((sum, item) => sum + (item ? itemSize(item) : 0), 0);
      totals.rcu += readUnits(bytes, options.consistent);
    } else {
      for (const item of items) totals.rcu += readUnits(item ? itemSize(item) : 0, options.consistent);
    }
    totals.reads++;
  }

  /**
   * A Query read to its end (or to a Limit the caller applied): one request per 1 MB page, as DynamoDB pages
   * it. `items`: the items, or their sizes. Returns the number of pages.
   */
  query(kind: string, items: ReadonlyArray<Item | number>, options: { readonly consistent: boolean }): number {
    const totals = this.kind(kind);
    let bytes = 0;
    let pages = 0;
    let pending = false;
    const endPage = () => {
      totals.rcu += readUnits(bytes, options.consistent);
      totals.reads++;
      pages++;
      bytes = 0;
      pending = false;
    };
    for (const item of items) {
      bytes += typeof item === 'number' ? item : itemSize(item);
      pending = true;
      // DynamoDB stops a page once the items read reach 1 MB; the item that crosses the line is included.
      if (bytes >= QUERY_PAGE_BYTES) endPage();
    }
    if (pending || pages === 0) endPage();
    return pages;
  }

  /**
   * A write of `item` over whatever the table holds under its key (`itemKey`): a PutItem, or an UpdateItem
   * given the item it leaves. Billed and stored as DynamoDB would; a failed condition bills the existing item
   * and leaves it.
   */
  put(kind: string, item: Item, options?: { readonly conditionFailed?: boolean }): void {
    // DynamoDB refuses the request, as the adapter would see it.
    if (itemSize(item) > MAX_ITEM_BYTES) {
      throw new Error(`ValidationException: Item size has exceeded the maximum allowed size (${kind} item)`);
    }
    const key = itemKey(item);
    const before = this.live.get(key) ?? 0;
    const totals = this.kind(kind);
    totals.writes++;
    if (options?.conditionFailed) {
      totals.wcu += unitsOfBytes(before);
      return;
    }
    totals.wcu += unitsOfBytes(Math.max(before, itemSize(item)));
    this.store(key, item);
  }

  /** A DeleteItem of the item under `key` (`itemKey`), billed on its size (a key with nothing costs 1 unit). */
  delete(kind: string, key: string): void {
    const totals = this.kind(kind);
    totals.writes++;
    totals.wcu += unitsOfBytes(this.live.get(key) ?? 0);
    this.store(key, undefined);
  }

  /** One read request of the items the table holds under `keys` (`itemKey`), as `read` bills it. */
  readKeys(kind: string, keys: readonly string[], options: ReadOptions): void {
    const totals = this.kind(kind);
    if (options.op === 'query') {
      const bytes = keys.reduce((sum, key) => sum + (this.live.get(key) ?? 0), 0);
      totals.rcu += readUnits(bytes, options.consistent);
    } else {
      for (const key of keys) totals.rcu += readUnits(this.live.get(key) ?? 0, options.consistent);
    }
    totals.reads++;
  }

  /** A Query of the items the table holds under `keys`, in 1 MB pages, as `query` bills it. Returns the pages. */
  queryKeys(kind: string, keys: readonly string[], options: { readonly consistent: boolean }): number {
    return this.query(
      kind,
      keys.map((key) => this.live.get(key) ?? 0),
      options,
    );
  }

  /** Records what the table holds under `key` (`itemKey`) after a write: the item, or nothing (deleted). */
  store(key: string, item: Item | undefined): void {
    const before = this.live.get(key);
    if (before !== undefined) this.liveBytes -= before;
    if (item === undefined) {
      this.live.delete(key);
      return;
    }
    const size = itemSize(item);
    this.live.set(key, size);
    this.liveBytes += size;
  }

  totals(): CapacityTotals {
    let wcu = 0;
    let rcu = 0;
    let writeRequests = 0;
    let readRequests = 0;
    const byKind: Record<string, KindTotals> = {};
    for (const [kind, t] of this.byKind) {
      wcu += t.wcu;
      rcu += t.rcu;
      writeRequests += t.writes;
      readRequests += t.reads;
      byKind[kind] = { ...t };
    }
    const storedBytes = this.liveBytes + STORED_ITEM_OVERHEAD_BYTES * this.live.size;
    return { wcu, rcu, writeRequests, readRequests, storedBytes, items: this.live.size, byKind };
  }

  /** Forgets the requests metered so far; what the table holds stays (it is state, not traffic). */
  reset(): void {
    this.byKind = new Map();
  }

  private kind(kind: string): KindTotals {
    let totals = this.byKind.get(kind);
    if (totals === undefined) {
      totals = { wcu: 0, rcu: 0, writes: 0, reads: 0 };
      this.byKind.set(kind, totals);
    }
    return totals;
  }
}
