/** Builds KPL-aggregated records byte by byte, as the Kinesis Producer Library writes them. */
import { createHash } from 'node:crypto';
import { KPL_MAGIC } from '../../lambdas/core/kpl.ts';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (no: number, bytes: Uint8Array) =>
  Buffer.from([...varint((no << 3) | 2), ...varint(bytes.length), ...bytes]);
const uint = (no: number, n: number) => Buffer.from([...varint(no << 3), ...varint(n)]);

/** An AggregatedRecord with one partition key and the given user records, framed with magic and MD5. */
export function kplRecord(payloads: string[], corruptDigest = false): Buffer {
  const records = payloads.map((p) =>
    field(3, Buffer.concat([uint(1, 0), field(3, Buffer.from(p)), field(4, field(1, Buffer.from('tag')))])),
  );
  const body = Buffer.concat([field(1, Buffer.from('pk-1')), ...records]);
  const digest = createHash('md5').update(body).digest();
  if (corruptDigest) digest[0] = digest[0]! ^ 0xff;
  return Buffer.concat([KPL_MAGIC, body, digest]);
}
