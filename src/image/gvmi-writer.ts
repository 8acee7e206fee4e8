/**
 * Writes the .gvmi trailer (docs/gvmi-format.md, section 1): CRC-32 LE of the JSON, the JSON, its length as 8
 * decimal digits.
 */
import zlib from 'node:zlib';

export function gvmiTrailer(metadata: object): Buffer {
  const json = Buffer.from(JSON.stringify(metadata), 'utf8');
  if (json.length > 99_999_999) throw new RangeError('metadata does not fit an 8-digit length');
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(zlib.crc32(json));
  return Buffer.concat([crc, json, Buffer.from(String(json.length).padStart(8, '0'), 'latin1')]);
}
