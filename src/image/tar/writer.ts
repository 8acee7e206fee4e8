/**
 * Tar writer: POSIX ustar headers, plus a PAX 'x' header for what ustar cannot hold (long paths and link targets,
 * big ids / sizes / times, long user and group names, xattrs as raw `SCHILY.xattr.<name>` bytes). See header.ts
 * for why this codec is hand-written.
 */
import { TarFormatError } from './errors.js';
import {
  BLOCK_SIZE,
  OCTAL_MAX,
  encodeHeader,
  encodePax,
  paddingOf,
  splitUstarPath,
  typeflagOf,
  type TarEntry,
} from './header.js';

export type { TarEntry, TarEntryType } from './header.js';

const ZEROS = Buffer.alloc(BLOCK_SIZE * 2);

export class TarWriter {
  private finished = false;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /** Writes one entry; `body` (files only) must total entry.size bytes. Entries must be added one at a time. */
  async add(entry: TarEntry, body?: AsyncIterable<Buffer> | Buffer): Promise<void> {
    if (this.finished) throw new Error('TarWriter: add() after finish()');
    const size = entry.type === 'file' ? entry.size : 0;
    if (!Number.isSafeInteger(size) || size < 0) throw bad(entry, `bad size ${entry.size}`);
    const { header, pax } = headersOf(entry, size);
    if (pax) await this.write(pax);
    await this.write(header);
    const written = await this.writeBody(entry, body, size);
    if (written !== size) throw bad(entry, `body has ${written} bytes, entry.size is ${size}`);
    await this.write(ZEROS.subarray(0, paddingOf(size)));
  }

  /** Two zero blocks, then ends the output stream and waits until it has flushed. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.write(ZEROS);
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }

  private async writeBody(entry: TarEntry, body: AsyncIterable<Buffer> | Buffer | undefined, size: number) {
    if (body === undefined) return 0;
    if (Buffer.isBuffer(body)) {
      if (body.length !== size) return body.length;
      await this.write(body);
      return body.length;
    }
    let written = 0;
    for await (const chunk of body) {
      // Checked before writing, so a too-long body never corrupts the archive past this entry's bytes.
      if (written + chunk.length > size) throw bad(entry, `body is longer than entry.size ${size}`);
      await this.write(chunk);
      written += chunk.length;
    }
    return written;
  }

  /**
   * Honours backpressure: waits for 'drain' when the stream's buffer is full. A stream that was destroyed or
   * closed meanwhile (the reader exited) would never drain: that is an error, never a wait forever.
   */
  private async write(buf: Buffer): Promise<void> {
    if (buf.length === 0) return;
    const out = this.out as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
    if (out.destroyed || out.writableEnded) throw new Error('TarWriter: the output stream is closed');
    if (out.write(buf)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        out.off('drain', onDrain);
        out.off('close', onClose);
        out.off('error', onError);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(new Error('TarWriter: the output stream closed before it drained'));
      const onError = (err: Error): void => done(err);
      out.on('drain', onDrain);
      out.on('close', onClose);
      out.on('error', onError);
      if (out.destroyed) onClose();
    });
  }
}

/** The ustar header of an entry and, when something does not fit it, the PAX 'x' header + records before it. */
function headersOf(entry: TarEntry, size: number): { header: Buffer; pax: Buffer | undefined } {
  const records: [string, Buffer][] = [];
  const path = Buffer.from(entry.type === 'directory' ? `${entry.path.replace(/\/+$/, '')}/` : entry.path, 'utf8');
  let split = splitUstarPath(path);
  if (!split) {
    records.push(['path', path]);
    split = { prefix: Buffer.alloc(0), name: truncate(path, 100) };
  }
  let linkname = entry.linkname;
  if (Buffer.byteLength(linkname, 'utf8') > 100) {
    records.push(['linkpath', Buffer.from(linkname, 'utf8')]);
    linkname = truncateString(linkname, 100);
  }
  const num = (key: string, v: number, max: number): number => {
    if (!Number.isSafeInteger(v)) throw bad(entry, `bad ${key} ${v}`);
    if (v >= 0 && v <= max) return v;
    if (v < 0 && key !== 'mtime') throw bad(entry, `negative ${key} ${v}`);
    records.push([key, Buffer.from(String(v))]);
    return 0;
  };
  const text = (key: string, v: string): string => {
    if (Buffer.byteLength(v, 'utf8') <= 32) return v;
    records.push([key, Buffer.from(v, 'utf8')]);
    return '';
  };
  for (const [dev, v] of [
    ['devmajor', entry.devmajor],
    ['devminor', entry.devminor],
  ] as const) {
    // PAX has no standard record for device numbers.
    if (!Number.isSafeInteger(v) || v < 0 || v > OCTAL_MAX.id) throw bad(entry, `${dev} ${v} does not fit ustar`);
  }
  const fields = {
    mode: entry.mode & 0o7777,
    uid: num('uid', entry.uid, OCTAL_MAX.id),
    gid: num('gid', entry.gid, OCTAL_MAX.id),
    size: num('size', size, OCTAL_MAX.size),
    mtime: num('mtime', entry.mtime, OCTAL_MAX.mtime),
    linkname,
    uname: text('uname', entry.uname),
    gname: text('gname', entry.gname),
    devmajor: entry.devmajor,
    devminor: entry.devminor,
  };
  for (const [name, value] of entry.xattrs) records.push([`SCHILY.xattr.${name}`, value]);
  const header = encodeHeader({ ...fields, ...split, typeflag: typeflagOf(entry.type) });
  return { header, pax: records.length ? paxHeader(records, split.name, fields.mtime) : undefined };
}

/** The 'x' header (named like GNU tar's "PaxHeaders/<name>") and its padded records. */
function paxHeader(records: [string, Buffer][], name: Buffer, mtime: number): Buffer {
  const body = encodePax(records);
  const base = name.toString('latin1').replace(/\/+$/, '').split('/').pop() ?? '';
  const header = encodeHeader({
    name: truncate(Buffer.from(`PaxHeaders/${base}`, 'latin1'), 100),
    prefix: Buffer.alloc(0),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime,
    typeflag: 'x',
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([header, body, ZEROS.subarray(0, paddingOf(body.length))]);
}

/** Cut at a character boundary so that the UTF-8 bytes fit `max` (a fallback for readers that ignore PAX). */
function truncateString(s: string, max: number): string {
  let out = s;
  while (Buffer.byteLength(out, 'utf8') > max) out = out.slice(0, -1);
  return out;
}

function truncate(b: Buffer, max: number): Buffer {
  return b.length <= max ? b : b.subarray(0, max);
}

function bad(entry: TarEntry, fault: string): TarFormatError {
  return new TarFormatError('TAR_BAD_FIELD', `tar writer: ${entry.path}: ${fault}`);
}
