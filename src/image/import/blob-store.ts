/**
 * Read access to the files of an image source: a folder (an OCI layout) or a tar file (`docker save` archives and
 * `oci-archive:` files), by path relative to its root. Tar members are found once by their headers
 * (../tar/member-index.ts) and read in place, so a layer is never extracted to a temporary file.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { PackError } from '../errors.js';
import {
  indexTarFile,
  normalizeMemberPath,
  openMember,
  type TarIndexedMember,
  type TarMemberIndex,
} from '../tar/member-index.js';
import { TarFormatError } from '../tar/errors.js';

/** Largest JSON document read whole (index, manifest, config): far above any real one. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

export interface BlobStore {
  /** Names the source in messages. */
  readonly what: string;
  has(rel: string): boolean;
  /** Size in bytes of a file that `has`. */
  size(rel: string): number;
  open(rel: string): NodeJS.ReadableStream;
  /** A whole (small) file: JSON documents, at most 16 MiB. */
  readBytes(rel: string): Promise<Buffer>;
}

/** A path as the member index keys it (one rule for both), after resolving `.` and `..` segments. */
function normalize(rel: string): string {
  return normalizeMemberPath(path.posix.normalize(rel));
}

async function readAll(stream: NodeJS.ReadableStream, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
    n += b.length;
    if (n > MAX_JSON_BYTES) throw new PackError('PACK_BAD_MANIFEST', `${what}: larger than ${MAX_JSON_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export class DirStore implements BlobStore {
  private readonly sizes = new Map<string, number>();
  constructor(
    readonly root: string,
    readonly what: string,
  ) {}

  has(rel: string): boolean {
    const p = path.join(this.root, normalize(rel));
    try {
      const st = fs.statSync(p);
      if (!st.isFile()) return false;
      this.sizes.set(normalize(rel), st.size);
      return true;
    } catch {
      return false;
    }
  }

  size(rel: string): number {
    return this.sizes.get(normalize(rel)) ?? fs.statSync(path.join(this.root, normalize(rel))).size;
  }

  open(rel: string): NodeJS.ReadableStream {
    return fs.createReadStream(path.join(this.root, normalize(rel)));
  }

  readBytes(rel: string): Promise<Buffer> {
    return readAll(this.open(rel), `${this.what}: ${rel}`);
  }
}

export class TarStore implements BlobStore {
  private constructor(
    readonly file: string,
    readonly what: string,
    private readonly index: TarMemberIndex,
  ) {}

  static async open(file: string, what: string): Promise<TarStore> {
    try {
      return new TarStore(file, what, await indexTarFile(file, what));
    } catch (err) {
      if (err instanceof TarFormatError) throw new PackError('PACK_BAD_LAYER', err.message, { cause: err });
      throw err;
    }
  }

  /** Member paths, normalized (for sniffing what kind of archive this is). */
  paths(): string[] {
    return [...this.index.keys()];
  }

  /**
   * The member a path names, through symlink members (classic `docker save` writes a layer that two images share
   * once, and a symlink `<id>/layer.tar -> ../<other id>/layer.tar` for the other), staying inside the archive.
   */
  private member(rel: string): TarIndexedMember | undefined {
    let p = normalize(rel);
    for (let hops = 0; hops < 8; hops++) {
      const m = this.index.get(p);
      if (m?.entry.type !== 'symlink') return m?.entry.type === 'file' ? m : undefined;
      const target = m.entry.linkname;
      const joined = path.posix.normalize(
        target.startsWith('/') ? target : path.posix.join(path.posix.dirname(p), target),
      );
      if (joined.startsWith('../') || joined === '..') return undefined;
      p = normalize(joined);
    }
    return undefined;
  }

  has(rel: string): boolean {
    return this.member(rel) !== undefined;
  }

  size(rel: string): number {
    return this.member(rel)?.entry.size ?? 0;
  }

  open(rel: string): NodeJS.ReadableStream {
    const m = this.member(rel);
    if (!m) throw new PackError('PACK_MISSING_BLOB', `${this.what}: no ${rel} in the archive`);
    return openMember(this.file, m);
  }

  readBytes(rel: string): Promise<Buffer> {
    return readAll(this.open(rel), `${this.what}: ${rel}`);
  }
}

export async function isDirectory(p: string): Promise<boolean> {
  return (await fsp.stat(p).catch(() => undefined))?.isDirectory() ?? false;
}
