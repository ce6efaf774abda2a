/** GET /emitted's cursor: what it gives back, and what it refuses (a cursor this API could not have returned). */
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../lambdas/adapters/http.ts';
import { emittedCursor } from '../../lambdas/query/cursors.ts';

const made = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

describe('emittedCursor', () => {
  it('gives back the position it was made from', () => {
    for (const position of [
      { after: null, offset: 3 },
      { after: '000001795514410000|000001795514400000|000', offset: 0 },
    ]) {
      expect(emittedCursor.decode(emittedCursor.encode(position)!)).toEqual(position);
    }
    expect(emittedCursor.encode(null)).toBeNull();
    expect(emittedCursor.decode(undefined)).toBeNull();
  });

  it.each([
    ['a negative offset', made({ a: null, o: -1 })],
    ['a fractional offset', made({ a: null, o: 1.5 })],
    ['a window key that is not text', made({ a: 7, o: 0 })],
    ['a window key longer than any sort key', made({ a: 'x'.repeat(1_001), o: 0 })],
    ['text that is not JSON', Buffer.from('000001|000002#3').toString('base64url')],
  ])('refuses %s with 400 naming the cursor', (_, cursor) => {
    let error: unknown;
    try {
      emittedCursor.decode(cursor);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ statusCode: 400, message: expect.stringMatching(/^cursor: /) });
  });
});
