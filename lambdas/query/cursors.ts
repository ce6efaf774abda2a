/**
 * Page cursors: opaque base64url text, safe in a query string, that a client passes back unchanged. Each read
 * route keeps its own position in one (a sort key, a window start, a rank); all are encoded and checked here,
 * and any value this API cannot have returned is refused with one message.
 */
import { HttpError } from '../adapters/http.ts';
import { END_OF_TIME } from '../adapters/window-reader.ts';
import { MAX_GROUP_KEY_BYTES } from '../core/batch-aggregator.ts';
import type { RankPosition } from '../core/group-ranking.ts';
import type { EmittedPosition } from '../core/store.ts';

const NOT_A_CURSOR = 'cursor: not a cursor this API returned; pass nextCursor from the previous page unchanged';

/**
 * The sort keys a late, dead-letter, failed-batch or emitted cursor holds are a few hundred bytes at most; a
 * longer one is not a cursor this API returned, and would pass DynamoDB's 1,024-byte sort-key limit in the key
 * condition.
 */
const MAX_SORT_KEY_BYTES = 1000;

/**
 * The JSON of a results or /groups cursor. The longest, a /groups cursor, holds a group key of at most
 * MAX_GROUP_KEY_BYTES (512; under 3 KiB even if every byte were escaped as \uXXXX) and an orderBy path of a
 * few hundred bytes.
 */
const MAX_POSITION_BYTES = 4096;

function encode(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** The text `value` holds, if `encode` made it from 1 to `maxBytes` bytes of UTF-8. */
function decode(value: string, maxBytes: number): string {
  const text = Buffer.from(value, 'base64url').toString('utf8');
  const bytes = Buffer.byteLength(text);
  // Re-encoding refuses what base64url decoding forgives: padding, characters outside the alphabet, bytes
  // that are not UTF-8.
  if (bytes === 0 || bytes > maxBytes || encode(text) !== value) throw new HttpError(400, NOT_A_CURSOR);
  return text;
}

function decodeJson(value: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(decode(value, MAX_POSITION_BYTES));
    if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // not JSON: refused below
  }
  throw new HttpError(400, NOT_A_CURSOR);
}

/** Late, dead letters and failed batches: the store's sort key to continue after. */
export const sortKeyCursor = {
  encode(key: string | null): string | null {
    return key === null ? null : encode(key);
  },
  decode(value: string | undefined): string | null {
    return value === undefined ? null : decode(value, MAX_SORT_KEY_BYTES);
  },
};

/** GET /emitted: the last compacted window given whole, and how many results of the next one were. */
export const emittedCursor = {
  encode(position: EmittedPosition | null): string | null {
    return position === null ? null : encode(JSON.stringify({ a: position.after, o: position.offset }));
  },
  decode(value: string | undefined): EmittedPosition | null {
    if (value === undefined) return null;
    const { a, o } = decodeJson(value);
    const after = a === null || (typeof a === 'string' && Buffer.byteLength(a) <= MAX_SORT_KEY_BYTES) ? a : undefined;
    if (after === undefined || typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) {
      throw new HttpError(400, NOT_A_CURSOR);
    }
    return { after, offset: o };
  },
};

/** GET /views/{view}/results: the window start the next page begins at. */
export const windowStartCursor = {
  encode(start: number): string {
    return encode(JSON.stringify({ s: start }));
  },
  decode(value: string): number {
    const { s } = decodeJson(value);
    if (typeof s === 'number' && Number.isInteger(s) && s >= 0) return s;
    throw new HttpError(400, NOT_A_CURSOR);
  },
};

/**
 * GET /views/{view}/groups: the window (kept when `latest` moves on), the ordering the page was ranked by, and
 * the last group of the page.
 */
export interface GroupsPosition {
  readonly windowStart: number;
  readonly orderBy: string;
  /** As the cursor holds it: the route refuses a cursor made for another orderBy or order. */
  readonly order: string;
  readonly after: RankPosition;
}

export const groupsCursor = {
  encode({ windowStart, orderBy, order, after }: GroupsPosition): string {
    return encode(JSON.stringify({ w: windowStart, o: orderBy, d: order, v: after.value, g: after.groupKey }));
  },
  decode(value: string): GroupsPosition {
    const { w, o, d, v, g } = decodeJson(value);
    if (
      typeof w !== 'number' ||
      !Number.isInteger(w) ||
      w < 0 ||
      w > END_OF_TIME ||
      typeof o !== 'string' ||
      typeof d !== 'string' ||
      (v !== null && typeof v !== 'number') ||
      typeof g !== 'string' ||
      Buffer.byteLength(g) > MAX_GROUP_KEY_BYTES
    ) {
      throw new HttpError(400, NOT_A_CURSOR);
    }
    return { windowStart: w, orderBy: o, order: d, after: { value: v, groupKey: g } };
  },
};
