import { TarWriter } from '../../../../src/image/tar/writer.js';
import type { TarEntry } from '../../../../src/image/tar/header.js';
import { readTar, type TarMember } from '../../../../src/image/tar/reader.js';
import { PassThrough } from 'node:stream';

/** An entry with defaults for what a test does not care about. */
export function entry(over: Partial<TarEntry> & Pick<TarEntry, 'path'>): TarEntry {
  return {
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    mtime: 1700000000,
    size: 0,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    ...over,
  };
}

/** Writes the entries (with Buffer bodies) into one in-memory archive. */
export async function writeArchive(items: { entry: TarEntry; body?: Buffer }[]): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  const w = new TarWriter(out);
  for (const it of items) await w.add(it.entry, it.body);
  await w.finish();
  return Buffer.concat(parts);
}

export async function bodyOf(m: TarMember): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of m.body) parts.push(c);
  return Buffer.concat(parts);
}

/** All members with their bodies, reading the archive in chunks of `chunk` bytes. */
export async function readAll(
  archive: Buffer,
  what = 'test',
  chunk = 700,
): Promise<{ entry: TarEntry; body: Buffer }[]> {
  async function* chunks() {
    for (let i = 0; i < archive.length; i += chunk) yield archive.subarray(i, i + chunk);
  }
  const out: { entry: TarEntry; body: Buffer }[] = [];
  for await (const m of readTar(chunks(), what)) out.push({ entry: m.entry, body: await bodyOf(m) });
  return out;
}
