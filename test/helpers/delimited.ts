/**
 * Size-delimited framing for tests: a varint length prefix and the body, for frames the tests make by hand (raw
 * bodies, bad or oversized prefixes). The runtime itself encodes with @bufbuild/protobuf's sizeDelimitedEncode.
 */
/** Encodes a non-negative integer (≤ 2^53) as a protobuf varint. */
export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a length varint`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Prefixes one encoded message with its length: the bytes of one frame. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const prefix = encodeVarint(body.length);
  const frame = new Uint8Array(prefix.length + body.length);
  frame.set(prefix, 0);
  frame.set(body, prefix.length);
  return frame;
}
