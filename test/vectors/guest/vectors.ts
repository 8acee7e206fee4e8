/**
 * The golden and malformed vectors of docs/guest-protocol.md, as values. generate.ts writes them to frames.txt and
 * malformed.txt; test/unit/guest/vectors.test.ts checks the files against this table and the codec. The C decoder
 * (init/test) reads the same files.
 *
 * File format: pairs of lines, a comment `# <direction>: <text>` then the whole frame (header included) in lowercase
 * hex. direction is `host->guest` or `guest->host`. In frames.txt the text is describeMessage() of the frame; in
 * malformed.txt it is the exact GuestProtocolError message of src/guest/frames.ts.
 */
import type { Message } from '../../../src/guest/frames.js';

export type Direction = 'host->guest' | 'guest->host';

export interface FrameVector {
  direction: Direction;
  message: Message;
}

export interface MalformedVector {
  direction: Direction;
  reason: string;
  bytes: Uint8Array;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const H2G: Direction = 'host->guest';
const G2H: Direction = 'guest->host';

export const FRAME_VECTORS: FrameVector[] = [
  { direction: H2G, message: { type: 'HELLO', id: 1, version: 1 } },
  {
    direction: H2G,
    message: {
      type: 'MOUNT_ROOT',
      id: 2,
      imageSerial: 'yaimage',
      upperSerial: '',
      tmpfsSize: 0n,
      hostname: 'golem-vm',
    },
  },
  {
    direction: H2G,
    message: {
      type: 'MOUNT_ROOT',
      id: 3,
      imageSerial: 'yaimage',
      upperSerial: 'yaupper',
      tmpfsSize: 0x0102030405060708n,
      hostname: 'node-1',
    },
  },
  {
    direction: H2G,
    message: {
      type: 'MOUNT',
      id: 4,
      fstype: 'virtiofs',
      source: 'vol0',
      target: '/golem/input',
      options: '',
      flags: 1,
    },
  },
  {
    direction: H2G,
    message: {
      type: 'MOUNT',
      id: 5,
      fstype: '9p',
      source: 'vol1',
      target: '/golem/output',
      options: 'trans=virtio,version=9p2000.L,msize=524288',
      flags: 0,
    },
  },
  {
    direction: H2G,
    message: {
      type: 'MOUNT',
      id: 6,
      fstype: 'tmpfs',
      source: '',
      target: '/golem/tmp',
      options: 'size=1073741824',
      flags: 1,
    },
  },
  {
    direction: H2G,
    message: {
      type: 'MOUNT',
      id: 7,
      fstype: 'ext4',
      source: 'yavol2',
      target: '/data',
      options: 'errors=remount-ro',
      flags: 0,
    },
  },
  {
    direction: H2G,
    message: {
      type: 'RUN',
      id: 8,
      procId: 7,
      uid: 0,
      gid: 0,
      flags: 0,
      path: '/bin/echo',
      cwd: '/',
      argv: ['echo', 'hi'],
      env: ['PATH=/usr/bin:/bin', 'HOME=/root'],
    },
  },
  {
    direction: H2G,
    message: {
      type: 'RUN',
      id: 9,
      procId: 8,
      uid: 1000,
      gid: 100,
      flags: 1,
      path: 'sh',
      cwd: '',
      argv: ['sh', '-c', 'cat; echo héllo ✓'],
      env: [],
    },
  },
  {
    direction: H2G,
    message: {
      type: 'RUN',
      id: 10,
      procId: 9,
      uid: 0,
      gid: 0,
      flags: 0,
      path: 'true',
      cwd: '/tmp',
      argv: [],
      env: [''],
    },
  },
  { direction: H2G, message: { type: 'STDIN', id: 11, procId: 8, data: utf8('hello\n') } },
  { direction: H2G, message: { type: 'STDIN', id: 12, procId: 8, data: new Uint8Array(0) } },
  { direction: H2G, message: { type: 'KILL', id: 13, procId: 8, signal: 15 } },
  { direction: H2G, message: { type: 'KILL', id: 14, procId: 8, signal: 9 } },
  { direction: H2G, message: { type: 'CREDIT', id: 0, procId: 7, bytes: 65536 } },
  { direction: H2G, message: { type: 'CREDIT', id: 0, procId: 8, bytes: 3 } },
  { direction: H2G, message: { type: 'SYNC', id: 0x01020304 } },
  { direction: H2G, message: { type: 'LIMITS', id: 9, pidsMax: 1024, memReserve: 33554432n, cpuWeight: 100 } },
  { direction: H2G, message: { type: 'LIMITS', id: 10, pidsMax: 0, memReserve: 0n, cpuWeight: 10000 } },
  { direction: H2G, message: { type: 'SHUTDOWN', id: 0xfffffffe } },
  {
    direction: H2G,
    message: {
      type: 'NET_CONFIG',
      id: 15,
      deviceMac: '90:13:00:00:00:01',
      mac: '90:13:c0:a8:00:02',
      mtu: 1220,
      flags: 1,
      addresses: [{ addr: '192.168.0.2', prefix: 24 }],
      routes: [{ dest: '192.168.0.0', prefix: 24, gateway: '192.168.0.1', metric: 101 }],
      hosts: [{ addr: '192.168.0.3', name: 'node-b' }],
      nameservers: [],
    },
  },
  {
    direction: H2G,
    message: {
      type: 'NET_CONFIG',
      id: 16,
      deviceMac: '90:13:00:00:00:02',
      mac: '90:13:0a:2a:2a:02',
      mtu: 65266,
      flags: 0,
      addresses: [{ addr: '10.42.42.2', prefix: 24 }],
      routes: [{ dest: '0.0.0.0', prefix: 0, gateway: '10.42.42.1', metric: 0 }],
      hosts: [],
      nameservers: ['1.1.1.1', '8.8.8.8'],
    },
  },

  { direction: G2H, message: { type: 'HELLO_OK', id: 1, version: 1, description: 'ya-init 0.1.0' } },
  { direction: G2H, message: { type: 'OK', id: 2 } },
  { direction: G2H, message: { type: 'ERROR', id: 9, errno: 2, message: 'exec sh2: No such file or directory' } },
  {
    direction: G2H,
    message: { type: 'ERROR', id: 3, errno: 22, message: 'mount /dev/vda on /mnt/image (squashfs): Invalid argument' },
  },
  { direction: G2H, message: { type: 'ERROR', id: 14, errno: 3, message: 'kill 8: No such process' } },
  { direction: G2H, message: { type: 'ERROR', id: 15, errno: 71, message: '' } },
  { direction: G2H, message: { type: 'OUTPUT', id: 0, procId: 7, fd: 1, data: utf8('hi\n') } },
  { direction: G2H, message: { type: 'OUTPUT', id: 0, procId: 8, fd: 2, data: Uint8Array.of(0x00, 0xff, 0x80, 0x0a) } },
  { direction: G2H, message: { type: 'EXIT', id: 0, procId: 7, exitCode: 0, signal: 0 } },
  { direction: G2H, message: { type: 'EXIT', id: 0, procId: 9, exitCode: 3, signal: 0 } },
  { direction: G2H, message: { type: 'EXIT', id: 0, procId: 8, exitCode: 137, signal: 9 } },
  { direction: G2H, message: { type: 'LOG', id: 0, level: 0, message: 'ya-init 0.1.0 starting' } },
  { direction: G2H, message: { type: 'LOG', id: 0, level: 1, message: 'reaped orphan 42' } },
  { direction: G2H, message: { type: 'LOG', id: 0, level: 2, message: 'read /dev/vport0p1: Input/output error' } },
];

/** A frame from raw parts (no checks): header {len, type, flags, id} then payload; `len` defaults to the payload's. */
function raw(type: number, id: number, payload: Uint8Array, opts: { len?: number; flags?: number } = {}): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.len ?? payload.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, opts.flags ?? 0, true);
  v.setUint32(8, id, true);
  out.set(payload, 12);
  return out;
}

function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const str = (s: string): Uint8Array => cat(u32(utf8(s).length), utf8(s));

/** NET_CONFIG payload up to (not including) the addresses: device_mac, mac, mtu, flags. */
const netHead = (mtu: number, flags = 0): number[] => [
  0x90,
  0x13,
  0,
  0,
  0,
  1,
  0x90,
  0x13,
  192,
  168,
  0,
  2,
  ...u32(mtu),
  ...u32(flags),
];
/** One address 192.168.0.2/prefix. */
const netAddr = (prefix: number): number[] => [...u32(1), 192, 168, 0, 2, prefix];
/** A NET_CONFIG payload: head, addresses, then routes/hosts/nameservers as given (each a whole list). */
const netConfig = (mtu: number, addrs: number[], rest: number[]): Uint8Array => cat(netHead(mtu), addrs, rest);
const noLists = [...u32(0), ...u32(0), ...u32(0)];
const hostEntry = (name: string): number[] => [...u32(1), 192, 168, 0, 3, ...str(name)];

/** RUN payload up to (not including) argv. */
const runHead = cat(u32(7), u32(0), u32(0), u32(0), str('/bin/sh'), str('/'));

export const MALFORMED_VECTORS: MalformedVector[] = [
  {
    direction: H2G,
    reason: 'frame header: length 1048577 exceeds MAX_PAYLOAD 1048576 (type 0x0004, id 1)',
    bytes: raw(0x04, 1, new Uint8Array(0), { len: 1048577 }),
  },
  {
    direction: H2G,
    reason: 'frame header: length 4294967295 exceeds MAX_PAYLOAD 1048576 (type 0x0001, id 1)',
    bytes: raw(0x01, 1, new Uint8Array(0), { len: 0xffffffff }),
  },
  {
    direction: H2G,
    reason: 'frame header: flags 0x0001 are not 0 (type HELLO, id 1)',
    bytes: raw(0x01, 1, Uint8Array.from(u32(1)), { flags: 1 }),
  },
  {
    direction: H2G,
    reason: 'frame header: flags 0x8000 are not 0 (type SYNC, id 2)',
    bytes: raw(0x08, 2, new Uint8Array(0), { flags: 0x8000 }),
  },
  { direction: H2G, reason: 'frame header: unknown type 0x0000 (id 1)', bytes: raw(0x00, 1, new Uint8Array(0)) },
  { direction: H2G, reason: 'frame header: unknown type 0x000c (id 1)', bytes: raw(0x0c, 1, Uint8Array.from(u32(1))) },
  { direction: H2G, reason: 'frame header: unknown type 0x0101 (id 1)', bytes: raw(0x0101, 1, new Uint8Array(0)) },
  { direction: H2G, reason: 'frame truncated: 5 bytes, the header needs 12', bytes: Uint8Array.of(4, 0, 0, 0, 1) },
  {
    direction: H2G,
    reason: 'frame truncated: HELLO header says 4 bytes of payload, 2 present',
    bytes: raw(0x01, 1, Uint8Array.of(1, 0), { len: 4 }),
  },
  {
    direction: H2G,
    reason: 'HELLO frame (id 1): payload ends inside u32 version (offset 0, needs 4 bytes, 2 left)',
    bytes: raw(0x01, 1, Uint8Array.of(1, 0)),
  },
  {
    direction: H2G,
    reason: 'HELLO frame (id 1): 2 trailing bytes after the last field',
    bytes: raw(0x01, 1, Uint8Array.of(1, 0, 0, 0, 0, 0)),
  },
  {
    direction: H2G,
    reason: 'SYNC frame (id 5): 1 trailing bytes after the last field',
    bytes: raw(0x08, 5, Uint8Array.of(0)),
  },
  {
    direction: H2G,
    reason: 'MOUNT frame (id 4): str source at offset 12 declares 100 bytes, 3 left',
    bytes: raw(0x03, 4, cat(str('virtiofs'), u32(100), utf8('vol'))),
  },
  {
    direction: H2G,
    reason: 'MOUNT frame (id 4): payload ends inside str options (offset 36, needs 4 bytes, 0 left)',
    bytes: raw(0x03, 4, cat(str('virtiofs'), str('vol0'), str('/golem/input'))),
  },
  {
    direction: H2G,
    reason: 'MOUNT frame (id 4): payload ends inside u32 flags (offset 31, needs 4 bytes, 0 left)',
    bytes: raw(0x03, 4, cat(str('virtiofs'), str('vol0'), str('/in'), str(''))),
  },
  {
    direction: H2G,
    reason: 'LIMITS frame (id 9): cpu_weight 0 is not 1..10000',
    bytes: raw(0x0b, 9, cat(u32(1024), u32(0), u32(0), u32(0))),
  },
  {
    direction: H2G,
    reason: 'LIMITS frame (id 9): payload ends inside u32 cpu_weight (offset 12, needs 4 bytes, 0 left)',
    bytes: raw(0x0b, 9, cat(u32(1024), u32(0), u32(0))),
  },
  {
    direction: H2G,
    reason: 'MOUNT frame (id 4): flags 0x2 has unknown bits',
    bytes: raw(0x03, 4, cat(str('virtiofs'), str('vol0'), str('/in'), str(''), u32(2))),
  },
  {
    direction: H2G,
    reason: 'RUN frame (id 6): str path at offset 16 declares 4294967295 bytes, 0 left',
    bytes: raw(0x04, 6, cat(u32(7), u32(0), u32(0), u32(0), u32(0xffffffff))),
  },
  {
    direction: H2G,
    reason: 'RUN frame (id 6): strlist argv declares 4097 entries, more than 4096',
    bytes: raw(0x04, 6, cat(runHead, u32(4097), u32(0))),
  },
  {
    direction: H2G,
    reason: 'RUN frame (id 6): str argv[1] at offset 42 declares 10 bytes, 2 left',
    bytes: raw(0x04, 6, cat(runHead, u32(2), str('sh'), u32(10), utf8('-c'))),
  },
  {
    direction: H2G,
    reason: 'RUN frame (id 6): payload ends inside u32 strlist env count (offset 42, needs 4 bytes, 0 left)',
    bytes: raw(0x04, 6, cat(runHead, u32(1), str('sh'))),
  },
  {
    direction: H2G,
    reason: 'RUN frame (id 6): 1 trailing bytes after the last field',
    bytes: raw(0x04, 6, cat(runHead, u32(1), str('sh'), u32(0), [0])),
  },
  {
    direction: H2G,
    reason: 'KILL frame (id 7): payload ends inside i32 signal (offset 4, needs 4 bytes, 2 left)',
    bytes: raw(0x06, 7, cat(u32(7), [9, 0])),
  },
  {
    direction: H2G,
    reason: 'STDIN frame (id 8): payload ends inside u32 proc_id (offset 0, needs 4 bytes, 3 left)',
    bytes: raw(0x05, 8, Uint8Array.of(7, 0, 0)),
  },
  {
    direction: H2G,
    reason: 'CREDIT frame (id 0): 4 trailing bytes after the last field',
    bytes: raw(0x07, 0, cat(u32(7), u32(3), u32(0))),
  },
  {
    direction: H2G,
    reason: 'MOUNT_ROOT frame (id 2): payload ends inside u64 tmpfs_size (offset 15, needs 8 bytes, 4 left)',
    bytes: raw(0x02, 2, cat(str('yaimage'), str(''), u32(0))),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): mtu 67 is not in 68..65535',
    bytes: raw(0x0a, 9, netConfig(67, netAddr(24), noLists)),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): mtu 65536 is not in 68..65535',
    bytes: raw(0x0a, 9, netConfig(65536, netAddr(24), noLists)),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): flags 0x2 has unknown bits',
    bytes: raw(0x0a, 9, cat(netHead(1220, 2), netAddr(24), noLists)),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): addresses is empty',
    bytes: raw(0x0a, 9, netConfig(1220, u32(0), noLists)),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): addresses has 17 entries, more than 16',
    bytes: raw(0x0a, 9, netConfig(1220, u32(17), noLists)),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): addresses[0].prefix 33 is not in 1..32',
    bytes: raw(0x0a, 9, netConfig(1220, netAddr(33), noLists)),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): addresses[0].prefix 0 is not in 1..32',
    bytes: raw(0x0a, 9, netConfig(1220, netAddr(0), noLists)),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): routes[0].dest 192.168.0.1 has bits outside its /24',
    bytes: raw(
      0x0a,
      9,
      netConfig(1220, netAddr(24), [...u32(1), 192, 168, 0, 1, 24, 0, 0, 0, 0, ...u32(0), ...u32(0), ...u32(0)]),
    ),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): hosts[0].name "evil\\n10.0.0.1" is not 1..253 characters of A-Z a-z 0-9 . - _',
    bytes: raw(0x0a, 9, netConfig(1220, netAddr(24), [...u32(0), ...hostEntry('evil\n10.0.0.1'), ...u32(0)])),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): hosts[0].name "a b" is not 1..253 characters of A-Z a-z 0-9 . - _',
    bytes: raw(0x0a, 9, netConfig(1220, netAddr(24), [...u32(0), ...hostEntry('a b'), ...u32(0)])),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): hosts[0].name "" is not 1..253 characters of A-Z a-z 0-9 . - _',
    bytes: raw(0x0a, 9, netConfig(1220, netAddr(24), [...u32(0), ...hostEntry(''), ...u32(0)])),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): nameservers has 4 entries, more than 3',
    bytes: raw(0x0a, 9, netConfig(1220, netAddr(24), [...u32(0), ...u32(0), ...u32(4)])),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): payload ends inside mac mac (offset 6, needs 6 bytes, 2 left)',
    bytes: raw(0x0a, 9, Uint8Array.of(0x90, 0x13, 0, 0, 0, 1, 0x90, 0x13)),
  },
  {
    direction: H2G,
    reason: 'NET_CONFIG frame (id 9): 1 trailing bytes after the last field',
    bytes: raw(0x0a, 9, netConfig(1220, netAddr(24), [...noLists, 0])),
  },

  {
    direction: G2H,
    reason: 'OUTPUT frame (id 0): fd 3 is not 1 (stdout) or 2 (stderr)',
    bytes: raw(0x90, 0, cat(u32(7), [3], utf8('hi'))),
  },
  {
    direction: G2H,
    reason: 'OUTPUT frame (id 0): fd 0 is not 1 (stdout) or 2 (stderr)',
    bytes: raw(0x90, 0, cat(u32(7), [0], utf8('hi'))),
  },
  {
    direction: G2H,
    reason: 'OUTPUT frame (id 0): data of 0 bytes, must be 1..65536',
    bytes: raw(0x90, 0, cat(u32(7), [1])),
  },
  {
    direction: G2H,
    reason: 'EXIT frame (id 0): 1 trailing bytes after the last field',
    bytes: raw(0x91, 0, cat(u32(7), u32(0), u32(0), [0])),
  },
  {
    direction: G2H,
    reason: 'EXIT frame (id 0): payload ends inside i32 signal (offset 8, needs 4 bytes, 0 left)',
    bytes: raw(0x91, 0, cat(u32(7), u32(0))),
  },
  {
    direction: G2H,
    reason: 'LOG frame (id 0): level 3 is not 0 (info), 1 (warning) or 2 (fatal)',
    bytes: raw(0x92, 0, cat([3], str('x'))),
  },
  {
    direction: G2H,
    reason: 'ERROR frame (id 6): str message at offset 4 declares 40 bytes, 4 left',
    bytes: raw(0x81, 6, cat(u32(2), u32(40), utf8('exec'))),
  },
  {
    direction: G2H,
    reason: 'HELLO_OK frame (id 1): payload ends inside str description (offset 4, needs 4 bytes, 0 left)',
    bytes: raw(0x82, 1, Uint8Array.from(u32(1))),
  },
  {
    direction: G2H,
    reason: 'OK frame (id 2): 4 trailing bytes after the last field',
    bytes: raw(0x80, 2, Uint8Array.from(u32(0))),
  },
];

export function toHex(b: Uint8Array): string {
  return Array.from(b, (c) => c.toString(16).padStart(2, '0')).join('');
}

export function fromHex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new Error(`not lowercase hex of whole bytes: ${s.slice(0, 40)}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Parses a vector file: comment/hex pairs. */
export function parseVectorFile(text: string): { direction: Direction; text: string; bytes: Uint8Array }[] {
  const lines = text.split('\n').filter((l) => l !== '');
  if (lines.length % 2 !== 0) throw new Error(`odd number of lines (${lines.length})`);
  const out: { direction: Direction; text: string; bytes: Uint8Array }[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const m = /^# (host->guest|guest->host): (.+)$/.exec(lines[i] ?? '');
    if (!m) throw new Error(`line ${i + 1}: expected "# <direction>: <text>", got ${JSON.stringify(lines[i])}`);
    out.push({ direction: m[1] as Direction, text: m[2] ?? '', bytes: fromHex(lines[i + 1] ?? '') });
  }
  return out;
}
