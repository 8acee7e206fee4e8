/**
 * Protobuf "delimited" framing of the ExeUnit service protocol (docs/yagna-contract.md section 3.1): every
 * message is a varint length prefix followed by that many bytes of one encoded message.
 *
 * Encoding is @bufbuild/protobuf's `sizeDelimitedEncode` (messages.ts, encodeResponseFrame). Decoding keeps its own
 * loop rather than the library's `sizeDelimitedDecodeStream`/`sizeDelimitedPeek`: the stream decoder parses every
 * body itself and ends at the first one that does not parse, while the service must answer a malformed request and
 * go on reading (MESSAGE_DECODE_FAILED); its failures (a size over the limit, "incomplete data" at the end) are plain
 * Errors, where the service needs FRAME_TOO_LARGE / FRAME_BAD_PREFIX / FRAME_TRUNCATED with the declared length; and
 * both copy the input into one contiguous buffer, where this one keeps the chunks as they arrived.
 *
 * Layer 1 (pure, no I/O): `FrameBuffer` accumulates chunks as they arrive and cuts frames out of them. The declared
 * length is checked against `maxFrameLength` as soon as the prefix is complete, before any body byte is waited
 * for, and a prefix longer than 10 bytes is refused. After either error the buffer is poisoned: the byte stream
 * cannot be resynced, so every later `tryRead()` throws the same error.
 *
 * Layer 2 (Node streams): `FrameReader` binds a buffer to a Readable and reports frames, one error and one close.
 * `FrameWriter` writes whole frames (prefix and body in one write()) through a one-slot queue, so frames never
 * interleave, and holds the slot until 'drain' when write() returns false. A write's promise resolves once the
 * stream accepted the bytes (its write callback), which is what lets backpressure reach the producer.
 */
import type { Readable, Writable } from 'node:stream';
import { FrameLengthError, FrameTruncatedError, OutputClosedError, StreamIoError } from './errors.js';
import { drainOf, OneSlotQueue } from '../write-queue.js';

/** Default maximum frame length: 16 MiB. Real requests are a few hundred bytes. */
export const DEFAULT_MAX_FRAME_LENGTH = 16 * 1024 * 1024;
/** A varint encodes at most 64 bits, in at most 10 bytes. */
const MAX_VARINT_BYTES = 10;

export class FrameBuffer {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private failure: FrameLengthError | undefined;

  constructor(readonly maxFrameLength: number = DEFAULT_MAX_FRAME_LENGTH) {}

  /** Bytes held that do not form a complete frame yet (prefix included). */
  get pending(): number {
    return this.size;
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.failure) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** The next complete frame's body, or undefined until more bytes arrive. Throws FrameLengthError. */
  tryRead(): Uint8Array | undefined {
    if (this.failure) throw this.failure;
    const prefix = this.readPrefix();
    if (prefix === undefined) return undefined;
    if (this.size < prefix.bytes + prefix.length) return undefined;
    this.consume(prefix.bytes);
    return this.consume(prefix.length);
  }

  /** Parses the length prefix without consuming it. */
  private readPrefix(): { length: number; bytes: number } | undefined {
    let value = 0;
    let index = 0;
    for (const chunk of this.chunks) {
      for (const byte of chunk) {
        // Multiplication rather than shifts: exact up to 2^53, and anything larger is over the limit anyway.
        value += (byte & 0x7f) * 2 ** (7 * index);
        index++;
        if ((byte & 0x80) === 0) {
          if (value > this.maxFrameLength) {
            throw this.fail(
              'FRAME_TOO_LARGE',
              `frame length ${value} exceeds the maximum of ${this.maxFrameLength}`,
              value,
            );
          }
          return { length: value, bytes: index };
        }
        if (index === MAX_VARINT_BYTES) {
          throw this.fail(
            'FRAME_BAD_PREFIX',
            `frame length prefix is longer than ${MAX_VARINT_BYTES} bytes`,
            undefined,
          );
        }
      }
    }
    return undefined;
  }

  private fail(
    code: 'FRAME_TOO_LARGE' | 'FRAME_BAD_PREFIX',
    message: string,
    length: number | undefined,
  ): FrameLengthError {
    this.failure = new FrameLengthError(code, message, length, this.maxFrameLength);
    this.chunks = [];
    this.size = 0;
    return this.failure;
  }

  /** Removes and returns the first n bytes (a view into the chunk when they lie in one). */
  private consume(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      this.size -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      if (chunk === undefined) throw new Error('FrameBuffer: consume past the end'); // unreachable: size was checked
      const take = Math.min(chunk.length, n - filled);
      out.set(chunk.subarray(0, take), filled);
      filled += take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    this.size -= n;
    return out;
  }
}

export interface FrameReaderHandlers {
  /** One complete frame body. Called synchronously, in stream order. */
  frame(body: Uint8Array): void;
  /** At most once: a framing error (FrameLengthError, FrameTruncatedError) or a stream error (StreamIoError).
   * Reading stops; close() follows. */
  error(err: FrameLengthError | FrameTruncatedError | StreamIoError): void;
  /** Exactly once, last: the input ended (EOF), failed, or the reader was disposed. */
  close(): void;
}

/** Reads frames from a Readable. dispose() stops listening and pauses the stream; it does NOT destroy or close it. */
export class FrameReader {
  private readonly buffer: FrameBuffer;
  private handlers: FrameReaderHandlers | undefined;
  private done = false;
  private readonly listeners: { data: (c: Buffer) => void; end: () => void; error: (e: Error) => void };

  constructor(
    private readonly input: Readable,
    maxFrameLength?: number,
  ) {
    this.buffer = new FrameBuffer(maxFrameLength);
    this.listeners = {
      data: (chunk) => this.onData(chunk),
      end: () => this.onEnd(),
      error: (err) => this.finish(new StreamIoError('INPUT_FAILED', `reading requests failed: ${err.message}`, err)),
    };
  }

  listen(handlers: FrameReaderHandlers): void {
    if (this.handlers) throw new Error('FrameReader.listen called twice');
    this.handlers = handlers;
    this.input.on('data', this.listeners.data);
    this.input.on('end', this.listeners.end);
    this.input.on('error', this.listeners.error);
  }

  dispose(): void {
    this.finish(undefined);
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.buffer.append(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    for (;;) {
      let frame: Uint8Array | undefined;
      try {
        frame = this.buffer.tryRead();
      } catch (err) {
        this.finish(err as FrameLengthError);
        return;
      }
      if (frame === undefined || this.done) return;
      this.handlers?.frame(frame);
    }
  }

  private onEnd(): void {
    const pending = this.buffer.pending;
    this.finish(pending > 0 ? new FrameTruncatedError(pending) : undefined);
  }

  private finish(err: FrameLengthError | FrameTruncatedError | StreamIoError | undefined): void {
    if (this.done) return;
    this.done = true;
    this.input.off('data', this.listeners.data);
    this.input.off('end', this.listeners.end);
    // Keep an 'error' listener so a late stream error cannot crash the process.
    this.input.off('error', this.listeners.error);
    this.input.on('error', () => {});
    this.input.pause();
    const handlers = this.handlers;
    if (err) handlers?.error(err);
    handlers?.close();
  }
}

/** Writes frames to a Writable, one at a time. close() stops accepting writes; it does NOT end the stream. */
export class FrameWriter {
  private readonly queue = new OneSlotQueue();
  private closed: OutputClosedError | undefined;
  private failed: StreamIoError | undefined;
  private readonly errorListeners: ((err: StreamIoError) => void)[] = [];

  constructor(private readonly output: Writable) {
    output.on('error', (err) => this.onStreamError(err));
  }

  /** Called once when the output stream fails (e.g. EPIPE: the reader is gone). */
  onError(listener: (err: StreamIoError) => void): void {
    this.errorListeners.push(listener);
  }

  /** Queues one whole frame, length prefix included (sizeDelimitedEncode). Resolves once the stream accepted all of
   * its bytes. */
  write(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    return this.queue.run(() => this.writeNow(frame));
  }

  /** Refuses later writes; writes already queued still go out. */
  close(reason = 'the frame writer was closed'): void {
    this.closed ??= new OutputClosedError(reason);
  }

  /** Resolves when every write queued so far has settled. */
  flushed(): Promise<void> {
    return this.queue.idle();
  }

  private async writeNow(frame: Uint8Array): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.output.destroyed || this.output.writableEnded) throw new OutputClosedError('output stream is closed');
    let ok = true;
    const accepted = new Promise<void>((resolve, reject) => {
      ok = this.output.write(frame, (err) => (err ? reject(this.onStreamError(err)) : resolve()));
    });
    accepted.catch(() => {}); // awaited below; drained() may reject first
    if (!ok && !(await drainOf(this.output, { error: true }))) {
      throw this.failed ?? new OutputClosedError('output stream closed before it drained');
    }
    await accepted;
  }

  private onStreamError(err: Error): StreamIoError {
    if (this.failed) return this.failed;
    this.failed = new StreamIoError('OUTPUT_FAILED', `writing responses failed: ${err.message}`, err);
    for (const listener of this.errorListeners) listener(this.failed);
    return this.failed;
  }
}
