/**
 * Streaming tar reader: members one at a time, each body streamed in chunks (never buffered whole). See header.ts
 * for why this codec is hand-written.
 */
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

export type { TarEntry, TarEntryType } from './header.js';

export interface TarMember {
  entry: TarEntry;
  /** Exactly entry.size bytes; valid only until the next member is asked for (unread bytes are then skipped). */
  body: AsyncIterable<Buffer>;
}

/** Body chunks are slices of the input's chunks, at most this long. */
const MAX_CHUNK = 64 * 1024;

/** Pull-based view of the input: exact reads for headers, bounded slices for bodies, and the byte offset. */
class ByteSource {
  private readonly it: AsyncIterator<Buffer | string>;
  private pending: Buffer = Buffer.alloc(0);
  private eof = false;
  /** Bytes handed out so far (the archive offset of the next byte). */
  offset = 0;

  constructor(input: AsyncIterable<Buffer> | NodeJS.ReadableStream) {
    this.it = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  }

  /** Fills `pending` with at least one byte unless at EOF. */
  private async fill(): Promise<boolean> {
    while (this.pending.length === 0 && !this.eof) {
      const r = await this.it.next();
      if (r.done) this.eof = true;
      else this.pending = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
    return this.pending.length > 0;
  }

  /** Up to `max` bytes from the current input chunk, or undefined at EOF. */
  async chunk(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  /** Exactly `n` bytes (small reads only: headers and meta bodies), or fewer at EOF. */
  async exact(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const c = await this.chunk(n - got);
      if (!c) break;
      parts.push(c);
      got += c.length;
    }
    return parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts);
  }

  /** Skips `n` bytes; returns how many were missing at EOF (0 when all were there). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.chunk(Math.min(left, 1 << 30));
      if (!c) break;
      left -= c.length;
    }
    return left;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/**
 * Reads a tar stream member by member. `what` names the archive in error messages (e.g. "layer 2 (sha256:ab12…)").
 * End of archive: two zero blocks, or EOF at a header boundary.
 */
export async function* readTar(
  input: AsyncIterable<Buffer> | NodeJS.ReadableStream,
  what: string,
): AsyncGenerator<TarMember> {
  const src = new ByteSource(input);
  const state = newMetaState();
  try {
    for (;;) {
      const headerAt = src.offset;
      const where = `${what}: tar header at byte ${headerAt}`;
      const block = await src.exact(BLOCK_SIZE);
      if (block.length === 0) return;
      if (block.length < BLOCK_SIZE) throw truncatedHeader(where, BLOCK_SIZE - block.length);
      if (isZeroBlock(block)) {
        if (await endsAfterZeroBlock(src, what)) return;
        continue;
      }
      const raw = parseHeader(block, where);
      if (META_TYPEFLAGS.has(raw.typeflag)) {
        absorbMeta(state, raw.typeflag, await readMetaBody(src, raw.size, where), where);
        continue;
      }
      const { entry, dataSize } = makeEntry(raw, state, where);
      const body = new BodyReader(src, what, entry.path, entry.size);
      yield { entry, body };
      body.detach();
      // Unread body bytes, data of non-file entries and the padding.
      const rest = dataSize - body.consumed + paddingOf(dataSize);
      const missing = await src.skip(rest);
      if (missing > 0 && missing > paddingOf(dataSize)) throw truncatedBody(what, entry.path, src.offset, missing);
    }
  } finally {
    await src.close();
  }
}

/** After one zero block: a second one or EOF ends the archive; a header after a lone zero block is read on. */
async function endsAfterZeroBlock(src: ByteSource, what: string): Promise<boolean> {
  const at = src.offset;
  const next = await src.exact(BLOCK_SIZE);
  if (next.length === 0 || isZeroBlock(next)) return true;
  throw new TarFormatError('TAR_BAD_FIELD', `${what}: tar header at byte ${at}: data after a lone zero block`);
}

async function readMetaBody(src: ByteSource, size: number, where: string): Promise<Buffer> {
  if (size > MAX_META_SIZE) throw new TarFormatError('TAR_BAD_FIELD', `${where}: extended header of ${size} bytes`);
  const body = await src.exact(size);
  if (body.length < size) throw truncatedHeader(where, size - body.length);
  const missing = await src.skip(paddingOf(size));
  if (missing > 0) throw truncatedHeader(where, missing);
  return body;
}

/** One member's body: a one-shot iterable over the shared source, cut off once the reader moves on. */
class BodyReader implements AsyncIterable<Buffer> {
  consumed = 0;
  private detached = false;

  constructor(
    private readonly src: ByteSource,
    private readonly what: string,
    private readonly path: string,
    private readonly size: number,
  ) {}

  detach(): void {
    this.detached = true;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.detached) throw new Error(`${this.what}: body of ${this.path} read after moving to the next member`);
    while (this.consumed < this.size) {
      const c = await this.src.chunk(Math.min(this.size - this.consumed, MAX_CHUNK));
      if (!c) throw truncatedBody(this.what, this.path, this.src.offset, this.size - this.consumed);
      this.consumed += c.length;
      yield c;
      if (this.detached) throw new Error(`${this.what}: body of ${this.path} read after moving to the next member`);
    }
  }
}

function truncatedHeader(where: string, missing: number): TarFormatError {
  return new TarFormatError('TAR_TRUNCATED', `${where}: truncated (needed ${missing} more bytes)`);
}

function truncatedBody(what: string, path: string, offset: number, missing: number): TarFormatError {
  return new TarFormatError(
    'TAR_TRUNCATED',
    `${what}: truncated inside ${path} at byte ${offset} (needed ${missing} more bytes)`,
  );
}
