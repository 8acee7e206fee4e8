/**
 * Random access to the members of a tar file (e.g. layer blobs inside a `docker save` archive): only headers are
 * read, with positional reads, and bodies are skipped by offset arithmetic. See header.ts for why this codec is
 * hand-written.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { TarFormatError } from './errors.js';
import {
  BLOCK_SIZE,
  MAX_META_SIZE,
  META_TYPEFLAGS,
  absorbMeta,
  isZeroBlock,
  makeEntry,
  newMetaState,
  paddingOf,
  parseHeader,
  type TarEntry,
} from './header.js';

export interface TarIndexedMember {
  entry: TarEntry;
  /** Byte offset of the body in the file. */
  offset: number;
}

/** Members by normalized path (see normalizeMemberPath); a later duplicate of a path replaces the earlier one. */
export type TarMemberIndex = Map<string, TarIndexedMember>;

/** "./a/b", "/a/b" and "a/b" name the same member. */
export function normalizeMemberPath(path: string): string {
  return path.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
}

export async function indexTarFile(file: string, what: string): Promise<TarMemberIndex> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    };
    return await scan(read, fileSize, what);
  } finally {
    await fh.close();
  }
}

async function scan(
  read: (offset: number, length: number) => Promise<Buffer>,
  fileSize: number,
  what: string,
): Promise<TarMemberIndex> {
  const index: TarMemberIndex = new Map();
  const state = newMetaState();
  let offset = 0;
  for (;;) {
    const where = `${what}: tar header at byte ${offset}`;
    const block = await read(offset, BLOCK_SIZE);
    if (block.length === 0) return index; // EOF at a header boundary
    if (block.length < BLOCK_SIZE) throw truncated(where, BLOCK_SIZE - block.length);
    // A zero block ends the archive (the second one and what follows are not looked at).
    if (isZeroBlock(block)) return index;
    const raw = parseHeader(block, where);
    const bodyAt = offset + BLOCK_SIZE;
    if (META_TYPEFLAGS.has(raw.typeflag)) {
      if (raw.size > MAX_META_SIZE) throw new TarFormatError('TAR_BAD_FIELD', `${where}: extended header too large`);
      const body = await read(bodyAt, raw.size);
      if (body.length < raw.size) throw truncated(where, raw.size - body.length);
      absorbMeta(state, raw.typeflag, body, where);
      offset = bodyAt + raw.size + paddingOf(raw.size);
      continue;
    }
    const { entry, dataSize } = makeEntry(raw, state, where);
    if (bodyAt + dataSize > fileSize) {
      const missing = bodyAt + dataSize - fileSize;
      throw new TarFormatError(
        'TAR_TRUNCATED',
        `${what}: truncated inside ${entry.path} at byte ${fileSize} (needed ${missing} more bytes)`,
      );
    }
    index.set(normalizeMemberPath(entry.path), { entry, offset: bodyAt });
    offset = bodyAt + dataSize + paddingOf(dataSize);
  }
}

/** The member's body bytes (entry.size of them) from the file. */
export function openMember(file: string, member: TarIndexedMember): NodeJS.ReadableStream {
  if (member.entry.size === 0) return Readable.from([]);
  return fs.createReadStream(file, { start: member.offset, end: member.offset + member.entry.size - 1 });
}

function truncated(where: string, missing: number): TarFormatError {
  return new TarFormatError('TAR_TRUNCATED', `${where}: truncated (needed ${missing} more bytes)`);
}
