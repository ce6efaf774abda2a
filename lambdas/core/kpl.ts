/**
 * Records aggregated by the Kinesis Producer Library (KPL): a 4-byte magic number, a protobuf
 * `AggregatedRecord`, and the MD5 of the protobuf. Each user record's `data` is one event (the producer's
 * payload, JSON here). Decoding is done by hand: the message has three fields worth reading, and a protobuf
 * runtime in every Lambda bundle for them is not worth it.
 *
 *   message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 *                              repeated Record records = 3; }
 *   message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                    required bytes data = 3; repeated Tag tags = 4; }
 */
import { createHash } from 'node:crypto';

export const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;

export function isKplAggregated(data: Uint8Array): boolean {
  return data.length > KPL_MAGIC.length + MD5_BYTES && KPL_MAGIC.every((b, i) => data[i] === b);
}

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly end = buf.length,
  ) {}
  done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }
  bytes(): Uint8Array {
    const length = this.varint();
    if (this.pos + length > this.end) throw new Error('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wireType}`);
  }
}

/** The user records' data of a KPL aggregated record; throws naming what is wrong. */
export function deaggregate(data: Uint8Array): Uint8Array[] {
  const body = data.subarray(KPL_MAGIC.length, data.length - MD5_BYTES);
  const digest = createHash('md5').update(body).digest();
  if (!digest.equals(Buffer.from(data.subarray(data.length - MD5_BYTES)))) {
    throw new Error('KPL aggregated record has a wrong MD5 checksum');
  }
  const records: Uint8Array[] = [];
  const outer = new Reader(body);
  while (!outer.done()) {
    const tag = outer.varint();
    if (tag >>> 3 === 3 && (tag & 7) === 2) {
      const message = outer.bytes();
      const inner = new Reader(message);
      let payload: Uint8Array | undefined;
      while (!inner.done()) {
        const t = inner.varint();
        if (t >>> 3 === 3 && (t & 7) === 2) payload = inner.bytes();
        else inner.skip(t & 7);
      }
      if (!payload) throw new Error(`KPL user record ${records.length} has no data`);
      records.push(payload);
    } else {
      outer.skip(tag & 7);
    }
  }
  return records;
}
