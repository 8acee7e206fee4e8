/** A .gvmi's (or any SquashFS's) tree as `unsquashfs -lln` lists it, parsed: no root needed to read it. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { readTar } from '../../src/image/tar/reader.js';

export interface ListedNode {
  type: 'd' | '-' | 'l' | 'c' | 'b' | 'p' | 's';
  /** Permission bits with setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes for files and symlinks; `maj,min` for devices. */
  size: string;
  link?: string;
}

function modeOf(perms: string): number {
  let m = 0;
  const bit = (i: number, v: number): void =>
    void (perms[i] !== '-' && perms[i] !== 'S' && perms[i] !== 'T' && (m |= v));
  [0o400, 0o200, 0o100, 0o40, 0o20, 0o10, 0o4, 0o2, 0o1].forEach((v, i) => bit(i + 1, v));
  if (perms[3] === 's' || perms[3] === 'S') m |= 0o4000;
  if (perms[6] === 's' || perms[6] === 'S') m |= 0o2000;
  if (perms[9] === 't' || perms[9] === 'T') m |= 0o1000;
  return m;
}

export async function listSquashfs(file: string): Promise<Map<string, ListedNode>> {
  const out = (await execa('unsquashfs', ['-lln', file])).stdout;
  const tree = new Map<string, ListedNode>();
  const re = /^([-dlcbps])(\S{9}) (\d+)\/(\d+)\s+(\d+|\d+,\s*\d+) \d{4}-\d\d-\d\d \d\d:\d\d squashfs-root(\/.*)?$/;
  for (const line of out.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const rest = m[6] ?? '';
    const arrow = m[1] === 'l' ? rest.indexOf(' -> ') : -1;
    const p = (arrow >= 0 ? rest.slice(0, arrow) : rest).replace(/^\//, '');
    if (p === '') continue;
    tree.set(p, {
      type: m[1] as ListedNode['type'],
      mode: modeOf(`${m[1]}${m[2]}`),
      uid: Number(m[3]),
      gid: Number(m[4]),
      size: m[5]!.replace(/\s+/g, ''),
      ...(arrow >= 0 ? { link: rest.slice(arrow + 4) } : {}),
    });
  }
  return tree;
}

export async function catSquashfs(file: string, p: string): Promise<Buffer> {
  return Buffer.from((await execa('unsquashfs', ['-cat', file, p], { encoding: 'buffer' })).stdout);
}

/**
 * The xattrs of one path in a SquashFS. No installed tool prints xattrs (no getfattr), so, as root, the file is
 * extracted with them and GNU tar archives it again with its xattrs, which our tar reader decodes. undefined when
 * not root (extraction would drop them).
 */
export async function xattrsInSquashfs(file: string, p: string): Promise<Map<string, Buffer> | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-xattr-'));
  try {
    const x = path.join(dir, 'x');
    await execa('unsquashfs', ['-no-progress', '-xattrs', '-d', x, file, p]);
    const { stdout } = await execa('tar', ['--xattrs', '--xattrs-include=*', '--format=pax', '-cf', '-', '-C', x, p], {
      encoding: 'buffer',
    });
    const got = new Map<string, Buffer>();
    for await (const m of readTar(Readable.from([Buffer.from(stdout)]), 'tar of unsquashfs output')) {
      if (m.entry.path === p) for (const [k, v] of m.entry.xattrs) got.set(k, v);
    }
    return got;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
