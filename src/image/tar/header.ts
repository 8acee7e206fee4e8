/**
 * A small, binary-safe tar codec: header, PAX and GNU long-name parsing and encoding (this file, pure), a streaming
 * reader (reader.ts), a writer (writer.ts) and a member index over a tar file (member-index.ts).
 *
 * Why hand-written rather than tar-stream or node-tar: image import (Docker/OCI layers flattened into one tar that is
 * streamed into squashfs-tools' `sqfstar`) needs
 *  1. PAX records read and written byte-exact: xattrs such as `security.capability` are binary, and tar-stream and
 *     node-tar decode PAX values as UTF-8 strings, which corrupts them;
 *  2. random access to members of a tar file (a `docker save` archive holds layer blobs as members), which a streaming
 *     parser cannot give.
 *
 * This folder may import only node: modules and the shared errors.
 */
import { TarFormatError } from './errors.js';

export const BLOCK_SIZE = 512;

/** PAX / GNU long-name bodies are read whole; beyond this size an archive is taken to be hostile or corrupt. */
export const MAX_META_SIZE = 16 * 1024 * 1024;

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarEntry {
  /** As stored (after PAX / GNU long names), without a trailing '/'. */
  path: string;
  type: TarEntryType;
  /** Permission bits incl. setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch (a fractional PAX mtime keeps its integer seconds). */
  mtime: number;
  /** Body bytes; 0 for every type but 'file'. */
  size: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

/** The fields of one 512-byte header, decoded but not yet merged with PAX / GNU long-name records. */
export interface RawHeader {
  /** name, or prefix + '/' + name for ustar. */
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

/** Byte layout of the ustar header: [offset, length]. */
const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;
type FieldName = keyof typeof F;

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};
const TYPEFLAG_OF: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};
/** Typeflags of records that describe the next entry rather than being one. */
export const META_TYPEFLAGS = new Set(['x', 'g', 'L', 'K']);

/** Largest value each numeric field holds in octal (one byte is the terminating NUL). */
export const OCTAL_MAX = { mode: 0o7777777, id: 0o7777777, size: 0o77777777777, mtime: 0o77777777777 } as const;

function field(block: Buffer, f: FieldName): Buffer {
  const [off, len] = F[f];
  return block.subarray(off, off + len);
}

/** A NUL-terminated (or full-width) string field. */
function readString(block: Buffer, f: FieldName): string {
  const b = field(block, f);
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

/** A numeric field: octal digits (space / NUL padded), or GNU base-256 when the top bit of the first byte is set. */
export function parseNumber(b: Buffer, where: string, name: string): number {
  const first = b[0] ?? 0;
  if (first & 0x80) return parseBase256(b, where, name);
  const text = b
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw badField(where, `${name} is not octal (${JSON.stringify(text)})`);
  const v = parseInt(text, 8);
  if (!Number.isSafeInteger(v)) throw badField(where, `${name} is too large`);
  return v;
}

function parseBase256(b: Buffer, where: string, name: string): number {
  // 0x80 marks a positive value; 0xff a negative (two's complement), which no field here may hold.
  if (b[0] !== 0x80) throw badField(where, `${name} is a negative base-256 number`);
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 256 + (b[i] ?? 0);
    if (!Number.isSafeInteger(v)) throw badField(where, `${name} is too large`);
  }
  return v;
}

/** Both the unsigned sum (POSIX) and the signed sum (old Sun / some GNU writers) of the block, chksum as spaces. */
export function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Decodes one header block; `where` starts every error message (e.g. "layer 2: tar header at byte 1536"). */
export function parseHeader(block: Buffer, where: string): RawHeader {
  if (block.length !== BLOCK_SIZE) throw new TarFormatError('TAR_TRUNCATED', `${where}: truncated header`);
  const stored = parseNumber(field(block, 'chksum'), where, 'checksum');
  const sums = checksums(block);
  if (stored !== sums.unsigned && stored !== sums.signed) {
    throw new TarFormatError('TAR_CHECKSUM', `${where}: checksum mismatch`);
  }
  const magic = field(block, 'magic').toString('latin1');
  // Only POSIX ustar has the prefix field; GNU keeps atime/ctime/sparse data at the same bytes.
  const prefix = magic === 'ustar\0' ? readString(block, 'prefix') : '';
  const name = readString(block, 'name');
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: parseNumber(field(block, 'mode'), where, 'mode'),
    uid: parseNumber(field(block, 'uid'), where, 'uid'),
    gid: parseNumber(field(block, 'gid'), where, 'gid'),
    size: parseNumber(field(block, 'size'), where, 'size'),
    mtime: parseNumber(field(block, 'mtime'), where, 'mtime'),
    typeflag: String.fromCharCode(block[156] ?? 0),
    linkname: readString(block, 'linkname'),
    uname: readString(block, 'uname'),
    gname: readString(block, 'gname'),
    devmajor: parseNumber(field(block, 'devmajor'), where, 'devmajor'),
    devminor: parseNumber(field(block, 'devminor'), where, 'devminor'),
  };
}

function writeOctal(block: Buffer, f: FieldName, value: number): void {
  const [off, len] = F[f];
  const digits = value.toString(8).padStart(len - 1, '0');
  if (digits.length > len - 1) throw new RangeError(`tar header: ${f} ${value} does not fit`);
  block.write(digits + '\0', off, len, 'latin1');
}

function writeBytes(block: Buffer, f: FieldName, value: Buffer): void {
  const [off, len] = F[f];
  if (value.length > len) throw new RangeError(`tar header: ${f} is longer than ${len} bytes`);
  value.copy(block, off);
}

/**
 * Encodes a POSIX ustar header. Fields must already fit (the writer moves what does not into PAX records);
 * `name` and `prefix` are separate here, as the caller decides the split.
 */
export function encodeHeader(h: Omit<RawHeader, 'name'> & { name: Buffer; prefix: Buffer }): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  writeBytes(block, 'name', h.name);
  writeOctal(block, 'mode', h.mode);
  writeOctal(block, 'uid', h.uid);
  writeOctal(block, 'gid', h.gid);
  writeOctal(block, 'size', h.size);
  writeOctal(block, 'mtime', h.mtime);
  block.write(h.typeflag, F.typeflag[0], 1, 'latin1');
  writeBytes(block, 'linkname', Buffer.from(h.linkname, 'utf8'));
  block.write('ustar\0' + '00', F.magic[0], 8, 'latin1');
  writeBytes(block, 'uname', Buffer.from(h.uname, 'utf8'));
  writeBytes(block, 'gname', Buffer.from(h.gname, 'utf8'));
  writeOctal(block, 'devmajor', h.devmajor);
  writeOctal(block, 'devminor', h.devminor);
  writeBytes(block, 'prefix', h.prefix);
  // The checksum field: six octal digits, NUL, space (what GNU tar writes), summed as if it were spaces.
  const sum = checksums(block).unsigned;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', F.chksum[0], 8, 'latin1');
  return block;
}

/** Splits a path over ustar's prefix (155 bytes) and name (100 bytes) at a '/', or undefined when it cannot. */
export function splitUstarPath(path: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (path.length <= 100) return { prefix: Buffer.alloc(0), name: path };
  // The name part must be <= 100 bytes, so the '/' sits at or after length - 101 and at most at byte 155.
  for (let i = Math.max(0, path.length - 101); i <= Math.min(155, path.length - 1); i++) {
    if (path[i] !== 0x2f) continue;
    if (i === 0) continue; // an empty prefix would lose the leading '/'
    return { prefix: path.subarray(0, i), name: path.subarray(i + 1) };
  }
  return undefined;
}

/** Parses PAX records `len key=value\n`; values stay raw bytes (binary xattrs), later duplicates win. */
export function parsePax(body: Buffer, where: string): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let pos = 0;
  while (pos < body.length) {
    // GNU and others pad the body with NULs: they end the records.
    if (body[pos] === 0) break;
    const space = body.indexOf(0x20, pos);
    const lenText = space < 0 ? '' : body.toString('latin1', pos, space);
    if (!/^[0-9]{1,12}$/.test(lenText)) throw badField(where, `bad PAX record length at record byte ${pos}`);
    const len = Number(lenText);
    const end = pos + len;
    if (len <= lenText.length + 1 || end > body.length || body[end - 1] !== 0x0a) {
      throw badField(where, `bad PAX record at record byte ${pos}`);
    }
    const eq = body.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= end - 1) throw badField(where, `PAX record without '=' at record byte ${pos}`);
    records.set(body.toString('utf8', space + 1, eq), Buffer.from(body.subarray(eq + 1, end - 1)));
    pos = end;
  }
  return records;
}

/** One PAX record; `len` counts its own digits, so it is found by iterating to a fixed point. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key, 'utf8') + value.length + 3; // ' ' '=' '\n'
  let len = rest + 1;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), value, Buffer.from('\n')]);
}

export function encodePax(records: Iterable<[string, Buffer]>): Buffer {
  return Buffer.concat([...records].map(([k, v]) => paxRecord(k, v)));
}

/** What the meta records ('x', 'g', 'L', 'K') seen so far say about the next entry. */
export interface MetaState {
  /** 'g' records: apply to all later entries. */
  global: Map<string, Buffer>;
  /** 'x' records of the next entry, if any were seen. */
  local: Map<string, Buffer> | undefined;
  longName: string | undefined;
  longLink: string | undefined;
}

export function newMetaState(): MetaState {
  return { global: new Map(), local: undefined, longName: undefined, longLink: undefined };
}

/** Absorbs the body of a meta record into the state. */
export function absorbMeta(state: MetaState, typeflag: string, body: Buffer, where: string): void {
  if (typeflag === 'L') state.longName = gnuLongString(body);
  else if (typeflag === 'K') state.longLink = gnuLongString(body);
  else if (typeflag === 'x') state.local = new Map([...(state.local ?? []), ...parsePax(body, where)]);
  else if (typeflag === 'g') mergeGlobal(state.global, parsePax(body, where));
}

/** GNU 'L'/'K' bodies are NUL-terminated (and may be NUL-padded). */
function gnuLongString(body: Buffer): string {
  const nul = body.indexOf(0);
  return body.subarray(0, nul < 0 ? body.length : nul).toString('utf8');
}

/** An empty value in a global record removes the key (POSIX: back to the header's value); xattrs may be empty. */
function mergeGlobal(global: Map<string, Buffer>, records: Map<string, Buffer>): void {
  for (const [k, v] of records) {
    if (v.length === 0 && !isXattrKey(k)) global.delete(k);
    else global.set(k, v);
  }
}

function isXattrKey(key: string): boolean {
  return key.startsWith('SCHILY.xattr.') || key.startsWith('LIBARCHIVE.xattr.');
}

/** The entry a non-meta header describes, merged with the pending meta state (which is then reset). */
export function makeEntry(
  raw: RawHeader,
  state: MetaState,
  where: string,
): { entry: TarEntry; dataSize: number; hadPax: boolean } {
  const type = TYPES[raw.typeflag];
  const records = new Map(state.global);
  const hadPax = state.local !== undefined;
  for (const [k, v] of state.local ?? []) {
    if (v.length === 0 && !isXattrKey(k)) records.delete(k);
    else records.set(k, v);
  }
  const path = (records.get('path')?.toString('utf8') ?? state.longName ?? raw.name).replace(/(.)\/+$/, '$1');
  if (type === undefined) {
    const flag = JSON.stringify(raw.typeflag);
    throw new TarFormatError('TAR_UNSUPPORTED_TYPE', `${where}: unsupported tar entry type ${flag} for ${path}`);
  }
  const num = (key: string, fallback: number): number => paxNumber(records.get(key), fallback, where, key);
  const headerSize = num('size', raw.size);
  const entry: TarEntry = {
    path,
    // Pre-POSIX archives mark directories by a trailing '/' on a regular file.
    type: type === 'file' && raw.typeflag !== '7' && /.\/$/.test(raw.name) && !records.has('path') ? 'directory' : type,
    mode: raw.mode & 0o7777,
    uid: num('uid', raw.uid),
    gid: num('gid', raw.gid),
    uname: records.get('uname')?.toString('utf8') ?? raw.uname,
    gname: records.get('gname')?.toString('utf8') ?? raw.gname,
    mtime: num('mtime', raw.mtime),
    size: 0,
    linkname: records.get('linkpath')?.toString('utf8') ?? state.longLink ?? raw.linkname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    xattrs: xattrsOf(records, where),
  };
  if (entry.type === 'file') entry.size = headerSize;
  state.local = undefined;
  state.longName = undefined;
  state.longLink = undefined;
  return { entry, dataSize: dataSizeOf(entry.type, headerSize, hadPax), hadPax };
}

/**
 * Bytes that follow the header in the archive. Hard links: GNU tar and ustar writers put size 0, but some writers
 * put the target's size without a body; only pax interchange (POSIX.1-2001) allows a body, so, like libarchive, the
 * size is obeyed only when the entry has its own PAX header. Other types' data (if any) is skipped.
 */
function dataSizeOf(type: TarEntryType, headerSize: number, hadPax: boolean): number {
  if (type === 'hardlink') return hadPax ? headerSize : 0;
  if (type === 'symlink') return 0;
  return headerSize;
}

/** A PAX decimal number; mtime may be fractional ("1700000000.123456789"): the integer seconds are kept. */
function paxNumber(value: Buffer | undefined, fallback: number, where: string, key: string): number {
  if (value === undefined) return fallback;
  const text = value.toString('latin1');
  const m = /^(-?[0-9]+)(\.[0-9]*)?$/.exec(text);
  const allowFraction = key === 'mtime';
  if (!m || m[1] === undefined || (m[2] !== undefined && !allowFraction)) {
    throw badField(where, `PAX ${key} is not a number (${JSON.stringify(text)})`);
  }
  const v = Number(m[1]);
  if (!Number.isSafeInteger(v) || (v < 0 && key !== 'mtime')) throw badField(where, `PAX ${key} out of range`);
  return v;
}

function xattrsOf(records: Map<string, Buffer>, where: string): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  for (const [k, v] of records) {
    if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    else if (k.startsWith('LIBARCHIVE.xattr.')) {
      xattrs.set(
        decodeXattrName(k.slice('LIBARCHIVE.xattr.'.length), where),
        Buffer.from(v.toString('latin1'), 'base64'),
      );
    }
  }
  return xattrs;
}

function decodeXattrName(encoded: string, where: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw badField(where, `bad LIBARCHIVE.xattr name ${JSON.stringify(encoded)}`);
  }
}

export function typeflagOf(type: TarEntryType): string {
  return TYPEFLAG_OF[type];
}

/** Bytes of padding after a body of `size` bytes. */
export function paddingOf(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

function badField(where: string, fault: string): TarFormatError {
  return new TarFormatError('TAR_BAD_FIELD', `${where}: ${fault}`);
}
