/**
 * One layer as a stream of tar members: the stored bytes, decompressed by what their first bytes say (gzip: zlib;
 * zstd: Debian's `zstd` tool, since Node 20's zlib has no zstd and the npm zstd modules download prebuilt binaries
 * at install; otherwise a plain tar), and checked against the layer's digests once the whole blob has gone through:
 * the stored bytes against the blob digest, the tar against the config's diff_id. The rest of the stream after the
 * tar's end marker is read too, so the digests cover every byte.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import zlib from 'node:zlib';
import { ImageToolError, PackError } from '../errors.js';
import { readTar, type TarMember } from '../tar/reader.js';
import { TarFormatError } from '../tar/errors.js';
import type { LayerRef } from './resolve.js';

/** An iterator over chunks that a consumer may stop early without closing it (so the rest can still be drained). */
class Chunks implements AsyncIterable<Buffer> {
  constructor(private readonly it: AsyncIterator<Buffer>) {}
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return { next: () => this.it.next(), return: async () => ({ done: true, value: undefined }) };
  }
  async drain(): Promise<void> {
    for (let r = await this.it.next(); !r.done; r = await this.it.next());
  }
}

function toBuffer(c: unknown): Buffer {
  return typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
}

async function* hashed(src: AsyncIterable<unknown>, h: crypto.Hash): AsyncGenerator<Buffer> {
  for await (const c of src) {
    const b = toBuffer(c);
    h.update(b);
    yield b;
  }
}

/** The chunks of `src`, telling `onRead` each one's size (for progress). */
async function* counted(src: AsyncIterable<unknown>, onRead: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const c of src) {
    const b = toBuffer(c);
    onRead(b.length);
    yield b;
  }
}

/** Yields the first chunks until at least 4 bytes are known, then everything; `head` gets those first bytes. */
async function peek(src: AsyncIterator<Buffer>): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const first: Buffer[] = [];
  let n = 0;
  let done = false;
  while (n < 4) {
    const r = await src.next();
    if (r.done) {
      done = true;
      break;
    }
    first.push(r.value);
    n += r.value.length;
  }
  const head = Buffer.concat(first);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (let r = await src.next(); !r.done; r = await src.next()) yield r.value;
  }
  return { head, all: all() };
}

function zstdStream(input: AsyncIterable<Buffer>, what: string): { out: Readable; done: Promise<void>; kill(): void } {
  const child = spawn('zstd', ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new ImageToolError('TOOL_MISSING', `${what} is zstd-compressed: install zstd (apt-get install zstd)`)
          : err,
      ),
    );
    child.once('spawn', resolve);
  });
  const exited = new Promise<void>((resolve, reject) =>
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new PackError('PACK_BAD_LAYER', `${what}: zstd: ${stderr.trim().split('\n').pop() || `exit ${code}`}`),
          ),
    ),
  );
  const feeding = spawned
    .then(() => pipeline(Readable.from(input), child.stdin))
    .catch((err: unknown) => {
      // zstd stopping early (bad data) closes its stdin: its own exit status says why.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    });
  return {
    out: child.stdout,
    done: Promise.all([spawned, feeding, exited]).then(() => undefined),
    // A consumer that stops early (an error in the layer, a failed pack) must not leave zstd running.
    kill: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')),
  };
}

export interface LayerTar {
  members: AsyncGenerator<TarMember>;
}

/**
 * The layer's members, in order. After the last one the generator drains the rest of the blob and checks the
 * digests, throwing PACK_DIGEST_MISMATCH; a malformed tar is PACK_BAD_LAYER.
 */
export async function* layerMembers(
  layer: LayerRef,
  check: 'all' | 'blob' = 'all',
  onRead?: (bytes: number) => void,
): AsyncGenerator<TarMember> {
  const blobHash = crypto.createHash('sha256');
  const tarHash = crypto.createHash('sha256');
  const opened = layer.open();
  const rawStream = onRead ? counted(opened as AsyncIterable<unknown>, onRead) : opened;
  // Hashing costs as much as reading: each byte is hashed once per pass. `blob` (pass 2, after pass 1 checked
  // everything) checks only the stored bytes, which still catches a layer changed between the passes; an
  // uncompressed layer's tar is its stored bytes, so its diff_id is the blob hash.
  const hashBlob = check === 'all' || layer.blobDigest !== undefined;
  const raw: AsyncIterator<Buffer> = hashBlob
    ? hashed(rawStream as AsyncIterable<unknown>, blobHash)
    : (rawStream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const { head, all } = await peek(raw);
  let plain: AsyncIterable<unknown>;
  let done: Promise<void> = Promise.resolve();
  let stop = (): void => undefined;
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = zlib.createGunzip();
    stop = () => void gunzip.destroy();
    done = pipeline(Readable.from(all), gunzip).catch((err: unknown) => {
      throw new PackError('PACK_BAD_LAYER', `${layer.what}: gzip: ${(err as Error).message}`, { cause: err });
    });
    done.catch(() => undefined);
    plain = gunzip;
  } else if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    const z = zstdStream(all, layer.what);
    done = z.done;
    done.catch(() => undefined);
    plain = z.out;
    stop = z.kill;
  } else {
    plain = all;
  }
  const compressed = plain !== all;
  const hashTar = compressed && check === 'all';
  const chunks = new Chunks(
    (hashTar ? hashed(plain, tarHash) : (plain as AsyncIterable<Buffer>))[Symbol.asyncIterator](),
  );
  try {
    yield* readTar(chunks, layer.what);
    await chunks.drain();
    await done;
  } catch (err) {
    // A failed decompressor says more than the tar reader that ran dry behind it.
    const decomp = await Promise.race([
      done.then(
        () => undefined,
        (e: unknown) => e,
      ),
      delay(100),
    ]);
    if (decomp instanceof PackError || decomp instanceof ImageToolError) throw decomp;
    if (err instanceof TarFormatError || err instanceof PackError)
      throw err instanceof PackError ? err : new PackError('PACK_BAD_LAYER', err.message, { cause: err });
    if (err instanceof ImageToolError) throw err;
    const zlibError = String((err as NodeJS.ErrnoException).code ?? '').startsWith('Z_');
    throw new PackError('PACK_BAD_LAYER', `${layer.what}: ${zlibError ? 'gzip: ' : ''}${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    // Also when the consumer stops early: no zstd left running, no file left open.
    stop();
    (opened as Readable).destroy?.();
  }
  const blob = hashBlob ? `sha256:${blobHash.digest('hex')}` : undefined;
  const tar = hashTar ? `sha256:${tarHash.digest('hex')}` : compressed ? undefined : blob;
  if (layer.blobDigest && blob !== layer.blobDigest)
    throw new PackError('PACK_DIGEST_MISMATCH', `${layer.what}: the blob's digest is ${blob}, not ${layer.blobDigest}`);
  if (layer.diffId && tar !== undefined && tar !== layer.diffId)
    throw new PackError(
      'PACK_DIGEST_MISMATCH',
      `${layer.what}: the uncompressed layer's digest is ${tar}, not the config's diff_id ${layer.diffId}`,
    );
}
