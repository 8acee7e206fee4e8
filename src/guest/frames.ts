/**
 * Layer 1 of the guest channel: the frames of docs/guest-protocol.md, byte for byte. Pure: takes and returns bytes
 * and values, no I/O, no Node APIs.
 *
 * A frame is a 12-byte header {u32 len, u16 type, u16 flags, u32 id} (little-endian) and `len` bytes of payload.
 * `decodeHeader` rejects len > MAX_PAYLOAD, flags != 0 and unknown types; `decodePayload` checks each field's length
 * before reading it and rejects leftover bytes. `GuestFrameBuffer` does the same incrementally on a byte stream and
 * checks each header as soon as its 12 bytes are in, before buffering the payload. Every rejection is a GuestProtocolError
 * whose message names the frame, the field and the numbers involved.
 */
import { GuestArgumentError, GuestProtocolError } from './errors.js';
import { FieldReader, FieldWriter } from './wire.js';
import { checkNetConfig, readNetConfig, writeNetConfig, type NetConfigMsg } from './net-config-frame.js';

export { MAX_STRLIST } from './wire.js';
export type { NetAddress, NetConfigMsg, NetHost, NetRoute } from './net-config-frame.js';

export const PROTOCOL_VERSION = 4;
export const HEADER_SIZE = 12;
/** Largest payload of a frame (1 MiB). */
export const MAX_PAYLOAD = 1048576;
/** Output window of a process at start (256 KiB), shared by stdout and stderr. */
export const INITIAL_CREDIT = 262144;
/** Largest data of one OUTPUT event. */
export const MAX_OUTPUT_CHUNK = 65536;
/** RUN flags bit 0: keep stdin open for STDIN frames. */
export const RUN_STDIN = 1;
/** MOUNT flags bit 0: copy the image's files at the target into the volume when it is empty. */
export const MOUNT_SEED = 1;
const MOUNT_FLAGS_KNOWN = MOUNT_SEED;

/** Message type numbers (the `type` header field). */
export const MsgType = {
  HELLO: 0x01,
  MOUNT_ROOT: 0x02,
  MOUNT: 0x03,
  RUN: 0x04,
  STDIN: 0x05,
  KILL: 0x06,
  CREDIT: 0x07,
  SYNC: 0x08,
  SHUTDOWN: 0x09,
  NET_CONFIG: 0x0a,
  LIMITS: 0x0b,
  OK: 0x80,
  ERROR: 0x81,
  HELLO_OK: 0x82,
  OUTPUT: 0x90,
  EXIT: 0x91,
  LOG: 0x92,
} as const;
export type MsgName = keyof typeof MsgType;

const NAMES = new Map<number, MsgName>(Object.entries(MsgType).map(([k, v]) => [v, k as MsgName]));

/** Name of a known type number, or undefined. */
export function msgName(type: number): MsgName | undefined {
  return NAMES.get(type);
}

// ---- messages --------------------------------------------------------------------------------------------------

export type HelloMsg = { type: 'HELLO'; id: number; version: number };
export type MountRootMsg = {
  type: 'MOUNT_ROOT';
  id: number;
  imageSerial: string;
  upperSerial: string;
  tmpfsSize: bigint;
  hostname: string;
};
export type MountMsg = {
  type: 'MOUNT';
  id: number;
  fstype: string;
  source: string;
  target: string;
  options: string;
  /** MOUNT_SEED or 0. */
  flags: number;
};
export type RunMsg = {
  type: 'RUN';
  id: number;
  procId: number;
  uid: number;
  gid: number;
  flags: number;
  path: string;
  cwd: string;
  argv: string[];
  env: string[];
};
/** Empty `data` closes the process's stdin. */
export type StdinMsg = { type: 'STDIN'; id: number; procId: number; data: Uint8Array };
export type KillMsg = { type: 'KILL'; id: number; procId: number; signal: number };
/** No reply; sent with id 0. */
export type CreditMsg = { type: 'CREDIT'; id: number; procId: number; bytes: number };
export type SyncMsg = { type: 'SYNC'; id: number };
/** Containment of requestor processes (docs/guest-protocol.md, LIMITS). */
export type LimitsMsg = {
  type: 'LIMITS';
  id: number;
  /** 0: no limit. */
  pidsMax: number;
  /** Bytes of guest memory the requestor's processes cannot take; 0n: no memory limit. */
  memReserve: bigint;
  /** The requestor group's cpu.weight, 1..10000. */
  cpuWeight: number;
};
export const LIMITS_WEIGHT_RANGE = [1, 10000] as const;
export type ShutdownMsg = { type: 'SHUTDOWN'; id: number };

export type OkMsg = { type: 'OK'; id: number };
export type ErrorMsg = { type: 'ERROR'; id: number; errno: number; message: string };
export type HelloOkMsg = { type: 'HELLO_OK'; id: number; version: number; description: string };
export type OutputMsg = { type: 'OUTPUT'; id: number; procId: number; fd: 1 | 2; data: Uint8Array };
export type ExitMsg = { type: 'EXIT'; id: number; procId: number; exitCode: number; signal: number };
/** level: 0 = info, 1 = warning, 2 = fatal (the VM ends after a fatal one). */
export type LogMsg = { type: 'LOG'; id: number; level: 0 | 1 | 2; message: string };

export type HostMessage =
  | HelloMsg
  | MountRootMsg
  | MountMsg
  | RunMsg
  | StdinMsg
  | KillMsg
  | CreditMsg
  | SyncMsg
  | ShutdownMsg
  | NetConfigMsg
  | LimitsMsg;
export type GuestMessage = OkMsg | ErrorMsg | HelloOkMsg | OutputMsg | ExitMsg | LogMsg;
export type Message = HostMessage | GuestMessage;
/** A host message before the client gives it an id. */
export type HostRequest = HostMessage extends infer M ? (M extends HostMessage ? Omit<M, 'id'> : never) : never;

export interface FrameHeader {
  len: number;
  type: MsgName;
  flags: number;
  id: number;
}

/** True for the messages init sends (types 0x80 and up). */
export function isGuestMessage(msg: Message): msg is GuestMessage {
  return MsgType[msg.type] >= 0x80;
}

// ---- encoding --------------------------------------------------------------------------------------------------

function payloadOf(msg: Message, w: FieldWriter): void {
  switch (msg.type) {
    case 'HELLO':
      w.u32('version', msg.version);
      return;
    case 'MOUNT_ROOT':
      w.str('image_serial', msg.imageSerial, true)
        .str('upper_serial', msg.upperSerial, true)
        .u64('tmpfs_size', msg.tmpfsSize)
        .str('hostname', msg.hostname, true);
      return;
    case 'MOUNT':
      checkMountFlags(`MOUNT (id ${msg.id})`, msg.flags, (m) => new GuestArgumentError(m));
      w.str('fstype', msg.fstype, true)
        .str('source', msg.source, true)
        .str('target', msg.target, true)
        .str('options', msg.options, true)
        .u32('flags', msg.flags);
      return;
    case 'RUN':
      w.u32('proc_id', msg.procId)
        .u32('uid', msg.uid)
        .u32('gid', msg.gid)
        .u32('flags', msg.flags)
        .str('path', msg.path, true)
        .str('cwd', msg.cwd, true)
        .strlist('argv', msg.argv, true)
        .strlist('env', msg.env, true);
      return;
    case 'STDIN':
      w.u32('proc_id', msg.procId).bytes(msg.data);
      return;
    case 'KILL':
      w.u32('proc_id', msg.procId).i32('signal', msg.signal);
      return;
    case 'CREDIT':
      w.u32('proc_id', msg.procId).u32('bytes', msg.bytes);
      return;
    case 'SYNC':
    case 'SHUTDOWN':
    case 'OK':
      return;
    case 'NET_CONFIG':
      checkNetConfig(`NET_CONFIG frame (id ${msg.id})`, msg, (m) => new GuestArgumentError(m));
      writeNetConfig(w, msg);
      return;
    case 'LIMITS':
      checkWeight(`LIMITS (id ${msg.id})`, msg.cpuWeight, (m) => new GuestArgumentError(m));
      w.u32('pids_max', msg.pidsMax).u64('mem_reserve', msg.memReserve).u32('cpu_weight', msg.cpuWeight);
      return;
    case 'ERROR':
      w.i32('errno', msg.errno).str('message', msg.message);
      return;
    case 'HELLO_OK':
      w.u32('version', msg.version).str('description', msg.description);
      return;
    case 'OUTPUT':
      checkOutput(`OUTPUT frame (id ${msg.id})`, msg.fd, msg.data.length, (m) => new GuestArgumentError(m));
      w.u32('proc_id', msg.procId).u8('fd', msg.fd).bytes(msg.data);
      return;
    case 'EXIT':
      w.u32('proc_id', msg.procId).i32('exit_code', msg.exitCode).i32('signal', msg.signal);
      return;
    case 'LOG':
      checkLevel(`LOG frame (id ${msg.id})`, msg.level, (m) => new GuestArgumentError(m));
      w.u8('level', msg.level).str('message', msg.message);
      return;
  }
}

/** The whole frame (header and payload) of a message. Throws GuestArgumentError for values the peer would reject. */
export function encodeMessage(msg: Message): Uint8Array {
  const what = `${msg.type} frame (id ${msg.id})`;
  const w = new FieldWriter(what);
  payloadOf(msg, w);
  if (w.length > MAX_PAYLOAD) {
    throw new GuestArgumentError(`${what}: payload of ${w.length} bytes exceeds MAX_PAYLOAD ${MAX_PAYLOAD}`);
  }
  const hdr = new FieldWriter(what).u32('len', w.length).bytes(u16(MsgType[msg.type])).bytes(u16(0)).u32('id', msg.id);
  return new FieldWriter(what).bytes(hdr.finish()).bytes(w.finish()).finish();
}

function u16(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, v >> 8);
}

// ---- decoding --------------------------------------------------------------------------------------------------

/** Checks the 12 header bytes at the start of `bytes` (which must hold at least HEADER_SIZE bytes). */
export function decodeHeader(bytes: Uint8Array): FrameHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const len = v.getUint32(0, true);
  const typeNum = v.getUint16(4, true);
  const flags = v.getUint16(6, true);
  const id = v.getUint32(8, true);
  if (len > MAX_PAYLOAD) {
    throw new GuestProtocolError(
      `frame header: length ${len} exceeds MAX_PAYLOAD ${MAX_PAYLOAD} (type ${hex(typeNum)}, id ${id})`,
    );
  }
  const type = msgName(typeNum);
  if (type === undefined) throw new GuestProtocolError(`frame header: unknown type ${hex(typeNum)} (id ${id})`);
  if (flags !== 0) throw new GuestProtocolError(`frame header: flags ${hex(flags)} are not 0 (type ${type}, id ${id})`);
  return { len, type, flags, id };
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(4, '0')}`;
}

function checkOutput(what: string, fd: number, len: number, err: (m: string) => Error): void {
  if (fd !== 1 && fd !== 2) throw err(`${what}: fd ${fd} is not 1 (stdout) or 2 (stderr)`);
  if (len < 1 || len > MAX_OUTPUT_CHUNK) throw err(`${what}: data of ${len} bytes, must be 1..${MAX_OUTPUT_CHUNK}`);
}

function checkLevel(what: string, level: number, err: (m: string) => Error): asserts level is 0 | 1 | 2 {
  if (level !== 0 && level !== 1 && level !== 2)
    throw err(`${what}: level ${level} is not 0 (info), 1 (warning) or 2 (fatal)`);
}

function checkWeight(what: string, weight: number, err: (m: string) => Error): void {
  const [lo, hi] = LIMITS_WEIGHT_RANGE;
  if (weight < lo || weight > hi) throw err(`${what}: cpu_weight ${weight} is not ${lo}..${hi}`);
}

function checkMountFlags(what: string, flags: number, err: (m: string) => Error): void {
  if ((flags & ~MOUNT_FLAGS_KNOWN) !== 0) throw err(`${what}: flags 0x${flags.toString(16)} has unknown bits`);
}

const protoErr = (m: string): Error => new GuestProtocolError(m);

/** Decodes the payload of a frame whose header was checked by decodeHeader. */
export function decodePayload(h: FrameHeader, payload: Uint8Array): Message {
  const what = `${h.type} frame (id ${h.id})`;
  const r = new FieldReader(what, payload);
  const id = h.id;
  let msg: Message;
  switch (h.type) {
    case 'HELLO':
      msg = { type: 'HELLO', id, version: r.u32('version') };
      break;
    case 'MOUNT_ROOT':
      msg = {
        type: 'MOUNT_ROOT',
        id,
        imageSerial: r.str('image_serial', true),
        upperSerial: r.str('upper_serial', true),
        tmpfsSize: r.u64('tmpfs_size'),
        hostname: r.str('hostname', true),
      };
      break;
    case 'MOUNT':
      msg = {
        type: 'MOUNT',
        id,
        fstype: r.str('fstype', true),
        source: r.str('source', true),
        target: r.str('target', true),
        options: r.str('options', true),
        flags: r.u32('flags'),
      };
      checkMountFlags(what, msg.flags, protoErr);
      break;
    case 'RUN':
      msg = {
        type: 'RUN',
        id,
        procId: r.u32('proc_id'),
        uid: r.u32('uid'),
        gid: r.u32('gid'),
        flags: r.u32('flags'),
        path: r.str('path', true),
        cwd: r.str('cwd', true),
        argv: r.strlist('argv', true),
        env: r.strlist('env', true),
      };
      break;
    case 'STDIN':
      msg = { type: 'STDIN', id, procId: r.u32('proc_id'), data: r.rest() };
      break;
    case 'KILL':
      msg = { type: 'KILL', id, procId: r.u32('proc_id'), signal: r.i32('signal') };
      break;
    case 'CREDIT':
      msg = { type: 'CREDIT', id, procId: r.u32('proc_id'), bytes: r.u32('bytes') };
      break;
    case 'SYNC':
      msg = { type: 'SYNC', id };
      break;
    case 'SHUTDOWN':
      msg = { type: 'SHUTDOWN', id };
      break;
    case 'NET_CONFIG':
      msg = readNetConfig(r, id, what, protoErr);
      break;
    case 'LIMITS':
      msg = {
        type: 'LIMITS',
        id,
        pidsMax: r.u32('pids_max'),
        memReserve: r.u64('mem_reserve'),
        cpuWeight: r.u32('cpu_weight'),
      };
      checkWeight(what, msg.cpuWeight, protoErr);
      break;
    case 'OK':
      msg = { type: 'OK', id };
      break;
    case 'ERROR':
      msg = { type: 'ERROR', id, errno: r.i32('errno'), message: r.str('message') };
      break;
    case 'HELLO_OK':
      msg = { type: 'HELLO_OK', id, version: r.u32('version'), description: r.str('description') };
      break;
    case 'OUTPUT': {
      const procId = r.u32('proc_id');
      const fd = r.u8('fd');
      const data = r.rest();
      checkOutput(what, fd, data.length, protoErr);
      msg = { type: 'OUTPUT', id, procId, fd: fd as 1 | 2, data };
      break;
    }
    case 'EXIT':
      msg = { type: 'EXIT', id, procId: r.u32('proc_id'), exitCode: r.i32('exit_code'), signal: r.i32('signal') };
      break;
    case 'LOG': {
      const level = r.u8('level');
      checkLevel(what, level, protoErr);
      msg = { type: 'LOG', id, level, message: r.str('message') };
      break;
    }
  }
  r.end();
  return msg;
}

/** Decodes exactly one whole frame: `bytes` must hold the header and exactly `len` bytes of payload. */
export function decodeFrame(bytes: Uint8Array): Message {
  if (bytes.length < HEADER_SIZE) {
    throw new GuestProtocolError(`frame truncated: ${bytes.length} bytes, the header needs ${HEADER_SIZE}`);
  }
  const h = decodeHeader(bytes);
  const present = bytes.length - HEADER_SIZE;
  if (present < h.len) {
    throw new GuestProtocolError(
      `frame truncated: ${h.type} header says ${h.len} bytes of payload, ${present} present`,
    );
  }
  if (present > h.len) {
    throw new GuestProtocolError(
      `frame followed by ${present - h.len} extra bytes: ${h.type} header says ${h.len} bytes of payload`,
    );
  }
  return decodePayload(h, bytes.subarray(HEADER_SIZE));
}

// ---- incremental buffer ----------------------------------------------------------------------------------------

/**
 * Reassembles frames from a byte stream cut anywhere. `append` a chunk, then call `tryRead` until it returns
 * undefined. A header is checked as soon as its 12 bytes are in, so a bad length is refused before its payload is
 * buffered. After a throw the buffer stays broken: every later call throws the same error.
 */
export class GuestFrameBuffer {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private header: FrameHeader | undefined;
  private broken: Error | undefined;

  append(chunk: Uint8Array): void {
    if (this.broken) throw this.broken;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.checkHeader();
  }

  /** The next whole frame, decoded, or undefined when more bytes are needed. */
  tryRead(): Message | undefined {
    if (this.broken) throw this.broken;
    const h = this.checkHeader();
    if (h === undefined || this.size < HEADER_SIZE + h.len) return undefined;
    const frame = this.take(HEADER_SIZE + h.len);
    this.header = undefined;
    try {
      return decodePayload(h, frame.subarray(HEADER_SIZE));
    } catch (err) {
      this.broken = err as Error;
      throw err;
    }
  }

  /** Bytes held that do not make a whole frame yet (non-zero at end of stream means the stream ended inside a frame). */
  get buffered(): number {
    return this.size;
  }

  private checkHeader(): FrameHeader | undefined {
    if (this.header === undefined && this.size >= HEADER_SIZE) {
      try {
        this.header = decodeHeader(this.peek(HEADER_SIZE));
      } catch (err) {
        this.broken = err as Error;
        throw err;
      }
    }
    return this.header;
  }

  /** The first n bytes, joined into the first chunk so later peeks are free. */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first;
    const joined = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      joined.set(c, at);
      at += c.length;
    }
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Uint8Array {
    const all = this.peek(n);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size -= n;
    return out;
  }
}
