/**
 * Field codecs of the guest protocol (docs/guest-protocol.md, "Payload field encodings"): u8, u32, i32, u64, str,
 * strlist and bytes, all little-endian, and ipv4 / mac (raw bytes in network order). Pure: no Node APIs.
 *
 * FieldReader checks every field's length before reading it (firecracker vsock/packet.rs `parse`) and names the
 * frame, the field and the offset in its error; FieldWriter refuses values the decoder on the other side would reject.
 */
import { GuestArgumentError, GuestProtocolError } from './errors.js';
import { formatIpv4, formatMac, ipv4Bytes, ipv4FromBytes, parseIpv4, parseMac } from '../net-address.js';

/** At most this many entries in a strlist. */
export const MAX_STRLIST = 4096;

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

export class FieldReader {
  private offset = 0;
  private readonly view: DataView;

  /** `what` names the frame in errors, e.g. "RUN frame (id 3)". */
  constructor(
    private readonly what: string,
    private readonly payload: Uint8Array,
  ) {
    this.view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  }

  private need(n: number, field: string): number {
    const left = this.payload.length - this.offset;
    if (n > left) {
      throw new GuestProtocolError(
        `${this.what}: payload ends inside ${field} (offset ${this.offset}, needs ${n} bytes, ${left} left)`,
      );
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(name: string): number {
    return this.view.getUint8(this.need(1, `u8 ${name}`));
  }

  u32(name: string): number {
    return this.view.getUint32(this.need(4, `u32 ${name}`), true);
  }

  i32(name: string): number {
    return this.view.getInt32(this.need(4, `i32 ${name}`), true);
  }

  u64(name: string): bigint {
    return this.view.getBigUint64(this.need(8, `u64 ${name}`), true);
  }

  /** An IPv4 address (4 bytes, network order), as a dotted quad. */
  ipv4(name: string): string {
    const at = this.need(4, `ipv4 ${name}`);
    return formatIpv4(ipv4FromBytes(this.payload.subarray(at, at + 4)));
  }

  /** An Ethernet address (6 bytes), as lowercase `aa:bb:cc:dd:ee:ff`. */
  mac(name: string): string {
    const at = this.need(6, `mac ${name}`);
    return formatMac(this.payload.subarray(at, at + 6));
  }

  /** Strings are decoded as UTF-8 with U+FFFD for invalid sequences: a guest message is never rejected for that.
   * `noNul`: the string is a path, argument or environment entry, where a NUL byte makes the frame malformed (as
   * init's decoder and FieldWriter have it). */
  str(name: string, noNul = false): string {
    const at = this.offset;
    const len = this.view.getUint32(this.need(4, `str ${name}`), true);
    const left = this.payload.length - this.offset;
    if (len > left) {
      throw new GuestProtocolError(`${this.what}: str ${name} at offset ${at} declares ${len} bytes, ${left} left`);
    }
    const start = this.need(len, `str ${name}`);
    const bytes = this.payload.subarray(start, start + len);
    if (noNul && bytes.includes(0)) {
      throw new GuestProtocolError(`${this.what}: str ${name} at offset ${at} contains a NUL byte`);
    }
    return utf8Decoder.decode(bytes);
  }

  strlist(name: string, noNul = false): string[] {
    const count = this.u32(`strlist ${name} count`);
    if (count > MAX_STRLIST) {
      throw new GuestProtocolError(`${this.what}: strlist ${name} declares ${count} entries, more than ${MAX_STRLIST}`);
    }
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(this.str(`${name}[${i}]`, noNul));
    return out;
  }

  /** The rest of the payload (a `bytes` field, always last). A copy, so the frame buffer can be reused. */
  rest(): Uint8Array {
    const start = this.offset;
    this.offset = this.payload.length;
    return this.payload.slice(start);
  }

  /** Call after the last field: leftover bytes make the frame malformed. */
  end(): void {
    const left = this.payload.length - this.offset;
    if (left !== 0) throw new GuestProtocolError(`${this.what}: ${left} trailing bytes after the last field`);
  }
}

export class FieldWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly what: string) {}

  private push(part: Uint8Array): this {
    this.parts.push(part);
    this.size += part.length;
    return this;
  }

  private fixed(n: number, set: (v: DataView) => void): this {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    return this.push(b);
  }

  private int(name: string, v: number, min: number, max: number): void {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new GuestArgumentError(`${this.what}: ${name} ${v} is not an integer in ${min}..${max}`);
    }
  }

  u8(name: string, v: number): this {
    this.int(name, v, 0, 0xff);
    return this.fixed(1, (d) => d.setUint8(0, v));
  }

  u32(name: string, v: number): this {
    this.int(name, v, 0, 0xffffffff);
    return this.fixed(4, (d) => d.setUint32(0, v, true));
  }

  i32(name: string, v: number): this {
    this.int(name, v, -0x80000000, 0x7fffffff);
    return this.fixed(4, (d) => d.setInt32(0, v, true));
  }

  u64(name: string, v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new GuestArgumentError(`${this.what}: ${name} ${v} is not a u64`);
    return this.fixed(8, (d) => d.setBigUint64(0, v, true));
  }

  /** `noNul`: the string is a path, argument or environment entry, which init rejects when it contains NUL. */
  str(name: string, v: string, noNul = false): this {
    if (noNul && v.includes('\0')) throw new GuestArgumentError(`${this.what}: ${name} contains a NUL character`);
    const bytes = utf8Encoder.encode(v);
    this.u32(`${name} length`, bytes.length);
    return this.push(bytes);
  }

  strlist(name: string, v: readonly string[], noNul = false): this {
    if (v.length > MAX_STRLIST) {
      throw new GuestArgumentError(`${this.what}: ${name} has ${v.length} entries, more than ${MAX_STRLIST}`);
    }
    this.u32(`${name} count`, v.length);
    v.forEach((s, i) => this.str(`${name}[${i}]`, s, noNul));
    return this;
  }

  bytes(v: Uint8Array): this {
    return this.push(v);
  }

  ipv4(name: string, v: string): this {
    const n = parseIpv4(v);
    if (n === undefined)
      throw new GuestArgumentError(`${this.what}: ${name} ${JSON.stringify(v)} is not an IPv4 address`);
    return this.push(ipv4Bytes(n));
  }

  mac(name: string, v: string): this {
    const b = parseMac(v);
    if (b === undefined)
      throw new GuestArgumentError(`${this.what}: ${name} ${JSON.stringify(v)} is not a MAC address`);
    return this.push(b);
  }

  get length(): number {
    return this.size;
  }

  /** The payload, all parts joined. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
