/**
 * The ExeUnit's side of the service protocol wire format, written by hand from docs/yagna-contract.md section 3.2
 * and test/vectors/runtime-api/frames.txt (section 3.7). It deliberately shares no code with src/api/ (no generated
 * protobuf, no frame codec): a conformance client that reused the runtime's codec would agree with any bug in it.
 *
 * Encoding follows proto3: default values (0, "", false) are omitted; message fields, empty ones included, are
 * always written (tag + length 0), as the contract requires for kill{} and shutdown{}. Decoding accepts defaults
 * written explicitly, skips unknown fields, and rejects a Response whose `command` is unset.
 */

export class WireError extends Error {}

// ---- encoding ------------------------------------------------------------------------------------------------

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

class Writer {
  private readonly out: number[] = [];

  varint(value: bigint | number): this {
    let v = BigInt.asUintN(64, BigInt(value)); // negative int32/int64 → 10-byte two's complement
    while (v >= 0x80n) {
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
    return this;
  }

  private tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType);
  }

  uint(field: number, value: bigint | number | undefined): this {
    if (value === undefined || BigInt(value) === 0n) return this;
    return this.tag(field, WT_VARINT).varint(value);
  }

  string(field: number, value: string | undefined): this {
    if (value === undefined || value === '') return this;
    return this.bytes(field, new TextEncoder().encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WT_LEN).varint(value.length);
    for (const b of value) this.out.push(b);
    return this;
  }

  /** A message field: written even when empty. */
  message(field: number, body: Writer): this {
    return this.bytes(field, body.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export interface WireNetwork {
  addr?: string;
  gateway?: string;
  mask?: string;
  ifAddr?: string;
}

/** One Request's command; exactly one key, or none for a request without a command. */
export type RequestCommand =
  | { hello: { version: string } }
  | { run: { bin: string; args: string[]; workDir?: string } }
  | { kill: { pid: number | bigint; signal: number } }
  | { shutdown: Record<string, never> }
  | { network: { networks: WireNetwork[]; hosts?: Record<string, string>; interface?: 0 | 1 } }
  | Record<string, never>;

/** Encodes Request{id = 1; oneof command: hello = 2, run = 10, kill = 11, shutdown = 12, network = 30}. */
export function encodeRequest(id: number | bigint, command: RequestCommand): Uint8Array {
  const w = new Writer().uint(1, id);
  if ('hello' in command) w.message(2, new Writer().string(1, command.hello.version));
  else if ('run' in command) {
    const run = new Writer().string(1, command.run.bin);
    for (const arg of command.run.args) run.bytes(2, new TextEncoder().encode(arg)); // repeated: "" is kept
    w.message(10, run.string(3, command.run.workDir));
  } else if ('kill' in command) w.message(11, new Writer().uint(1, command.kill.pid).uint(2, command.kill.signal));
  else if ('shutdown' in command) w.message(12, new Writer());
  else if ('network' in command) {
    const net = new Writer();
    for (const n of command.network.networks) {
      net.message(1, new Writer().string(1, n.addr).string(2, n.gateway).string(3, n.mask).string(4, n.ifAddr));
    }
    for (const [key, value] of Object.entries(command.network.hosts ?? {})) {
      net.message(2, new Writer().string(1, key).string(2, value));
    }
    w.message(30, net.uint(3, command.network.interface));
  }
  return w.finish();
}

/** Length-prefixes a message body. */
export function delimit(body: Uint8Array): Uint8Array {
  const prefix = new Writer().varint(body.length).finish();
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

// ---- decoding ------------------------------------------------------------------------------------------------

interface Field {
  no: number;
  wireType: number;
  varint: bigint;
  data: Uint8Array;
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos + i];
    if (b === undefined) throw new WireError('truncated varint');
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return [value, pos + i + 1];
  }
  throw new WireError('varint longer than 10 bytes');
}

function parseFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const no = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (no === 0) throw new WireError('field number 0');
    pos = afterKey;
    let field: Field;
    if (wireType === WT_VARINT) {
      const [v, next] = readVarint(buf, pos);
      field = { no, wireType, varint: v, data: new Uint8Array(0) };
      pos = next;
    } else if (wireType === WT_LEN || wireType === WT_I64 || wireType === WT_I32) {
      let len = wireType === WT_I64 ? 8 : 4;
      if (wireType === WT_LEN) {
        const [l, next] = readVarint(buf, pos);
        len = Number(l);
        pos = next;
      }
      if (pos + len > buf.length) throw new WireError(`field ${no} overruns the message`);
      field = { no, wireType, varint: 0n, data: buf.subarray(pos, pos + len) };
      pos += len;
    } else throw new WireError(`field ${no} has unsupported wire type ${wireType}`);
    fields.push(field);
  }
  return fields;
}

function expect(f: Field, wireType: number): Field {
  if (f.wireType !== wireType) throw new WireError(`field ${f.no}: wire type ${f.wireType}, expected ${wireType}`);
  return f;
}

const text = (f: Field): string => new TextDecoder().decode(expect(f, WT_LEN).data);
const num = (f: Field): number => Number(expect(f, WT_VARINT).varint);
const int32 = (f: Field): number => Number(BigInt.asIntN(32, expect(f, WT_VARINT).varint));

export interface ResponseError {
  /** 0 INTERNAL, 1 NOT_FOUND, 2 BAD_REQUEST. */
  code: number;
  message: string;
  context: Record<string, string>;
}

export interface ProcessStatus {
  pid: number;
  running: boolean;
  returnCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export type ResponseCommand =
  | { kind: 'error'; error: ResponseError }
  | { kind: 'hello'; version: string }
  | { kind: 'run'; pid: number }
  | { kind: 'kill' }
  | { kind: 'shutdown' }
  | { kind: 'status'; status: ProcessStatus }
  | { kind: 'counter'; name: string; value: number }
  | { kind: 'state'; name: string; value: Buffer }
  | { kind: 'network'; endpoint: string };

export type DecodedResponse = { id: number; event: boolean } & ResponseCommand;

function mapEntry(f: Field): [string, string] {
  let key = '';
  let value = '';
  for (const e of parseFields(expect(f, WT_LEN).data)) {
    if (e.no === 1) key = text(e);
    if (e.no === 2) value = text(e);
  }
  return [key, value];
}

function decodeCommand(f: Field): ResponseCommand {
  const inner = parseFields(expect(f, WT_LEN).data);
  switch (f.no) {
    case 3: {
      const error: ResponseError = { code: 0, message: '', context: {} };
      for (const e of inner) {
        if (e.no === 1) error.code = num(e);
        if (e.no === 2) error.message = text(e);
        if (e.no === 3) {
          const [k, v] = mapEntry(e);
          error.context[k] = v;
        }
      }
      return { kind: 'error', error };
    }
    case 4:
      return {
        kind: 'hello',
        version:
          inner
            .filter((e) => e.no === 1)
            .map(text)
            .pop() ?? '',
      };
    case 10:
      return {
        kind: 'run',
        pid:
          inner
            .filter((e) => e.no === 1)
            .map(num)
            .pop() ?? 0,
      };
    case 11:
      return { kind: 'kill' };
    case 12:
      return { kind: 'shutdown' };
    case 20: {
      const s: ProcessStatus = {
        pid: 0,
        running: false,
        returnCode: 0,
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
      };
      for (const e of inner) {
        if (e.no === 1) s.pid = num(e);
        if (e.no === 2) s.running = num(e) !== 0;
        if (e.no === 3) s.returnCode = int32(e);
        if (e.no === 4) s.stdout = Buffer.from(expect(e, WT_LEN).data);
        if (e.no === 5) s.stderr = Buffer.from(expect(e, WT_LEN).data);
      }
      return { kind: 'status', status: s };
    }
    case 21: {
      const kind = inner.filter((e) => e.no === 1 || e.no === 2).pop();
      if (!kind) throw new WireError('RuntimeStatus without kind');
      let name = '';
      let value: Field | undefined;
      for (const e of parseFields(expect(kind, WT_LEN).data)) {
        if (e.no === 1) name = text(e);
        if (e.no === 2) value = e;
      }
      if (kind.no === 1) return { kind: 'state', name, value: Buffer.from(value ? expect(value, WT_LEN).data : []) };
      const bytes = value ? expect(value, WT_I64).data : new Uint8Array(8);
      return { kind: 'counter', name, value: Buffer.from(bytes).readDoubleLE(0) };
    }
    case 30: {
      const names = ['', 'unix_stream', 'unix_datagram', 'udp_datagram', 'tcp_listener', 'tcp_stream'];
      const e = inner.filter((x) => x.no >= 1 && x.no <= 5).pop();
      return { kind: 'network', endpoint: e ? `${names[e.no]}:${text(e)}` : '' };
    }
    default:
      throw new WireError(`unknown command field ${f.no}`);
  }
}

/** Decodes Response{event = 1, id = 2, oneof command}. Throws WireError for an invalid response. */
export function decodeResponse(body: Uint8Array): DecodedResponse {
  let id = 0;
  let event = false;
  let command: Field | undefined;
  for (const f of parseFields(body)) {
    if (f.no === 1) event = num(f) !== 0;
    else if (f.no === 2) id = num(f);
    else if ([3, 4, 10, 11, 12, 20, 21, 30].includes(f.no)) command = f; // oneof: the last one wins
  }
  if (!command) throw new WireError('response without a command');
  return { id, event, ...decodeCommand(command) };
}

/** Cuts delimited frames out of a byte stream. */
export class FrameSplitter {
  private buf = Buffer.alloc(0);

  push(chunk: Uint8Array): Uint8Array[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const frames: Uint8Array[] = [];
    for (;;) {
      let len: bigint;
      let start: number;
      try {
        [len, start] = readVarint(this.buf, 0);
      } catch (err) {
        if (this.buf.length >= 10) throw err;
        return frames; // prefix incomplete
      }
      if (len > 64n * 1024n * 1024n) throw new WireError(`frame length ${len} is not plausible`);
      const end = start + Number(len);
      if (this.buf.length < end) return frames;
      frames.push(Uint8Array.from(this.buf.subarray(start, end)));
      this.buf = this.buf.subarray(end);
    }
  }

  get pending(): number {
    return this.buf.length;
  }
}
