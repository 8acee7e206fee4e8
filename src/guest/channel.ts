/**
 * Layer 2 of the guest channel: binds a GuestFrameBuffer and the frame encoder to a byte stream (the net.Socket of
 * QEMU's virtio-serial chardev, or any Duplex in tests).
 *
 *  - Reading: every chunk goes through a GuestFrameBuffer; each whole frame is handed to the onMessage listeners, in
 *    order, synchronously. A malformed frame, a listener that throws, a stream error, or an end of stream inside a frame
 *    breaks the channel: onError, then the stream is destroyed, then onClose(cause).
 *  - Writing: `send` encodes at once (so a bad argument rejects before anything is written), then writes through a
 *    one-slot queue so frames never interleave; when `write()` returns false the next frame waits for 'drain'.
 *  - Closing: onClose fires exactly once, with the cause (undefined for a clean end of stream or `close()`).
 *
 * The channel owns the stream: `close()` destroys it. It does NOT fail requests or processes: that is the client's
 * job (guest-client.ts), on onClose.
 */
import type { Duplex } from 'node:stream';
import { GuestChannelClosedError, GuestProtocolError } from './errors.js';
import { encodeMessage, GuestFrameBuffer, type Message } from './frames.js';
import { OneSlotQueue } from '../write-queue.js';

type Listener<T> = (value: T) => void;

export class GuestChannel {
  private readonly buffer = new GuestFrameBuffer();
  private readonly writeQueue = new OneSlotQueue();
  private closedWith: { cause: Error | undefined } | undefined;
  private readonly drainWaiters = new Set<(err?: Error) => void>();
  private readonly messageListeners: Listener<Message>[] = [];
  private readonly errorListeners: Listener<Error>[] = [];
  private readonly closeListeners: Listener<Error | undefined>[] = [];

  constructor(private readonly stream: Duplex) {
    stream.on('data', (chunk: Uint8Array) => this.receive(chunk));
    stream.on('error', (err: Error) => this.fail(err));
    stream.on('end', () => this.ended());
    stream.on('close', () => this.ended());
    stream.on('drain', () => this.wakeWriters());
  }

  /** Each decoded frame, in stream order. A listener that throws breaks the channel with that error. */
  onMessage(cb: Listener<Message>): () => void {
    return add(this.messageListeners, cb);
  }

  /** The error that broke the channel (before onClose). */
  onError(cb: Listener<Error>): () => void {
    return add(this.errorListeners, cb);
  }

  /** Once, when the channel ends; `cause` is undefined for a clean end. Called at once if it already ended. */
  onClose(cb: Listener<Error | undefined>): () => void {
    if (this.closedWith) {
      cb(this.closedWith.cause);
      return () => {};
    }
    return add(this.closeListeners, cb);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Resolves once the frame was handed to the stream (after 'drain' if the stream asked for it). */
  send(msg: Message): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(msg);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writeQueue.run(() => this.write(bytes, msg));
  }

  /** Destroys the stream and ends the channel (onClose(cause)). Idempotent. */
  close(cause?: Error): void {
    this.end(cause);
  }

  private write(bytes: Uint8Array, msg: Message): Promise<void> {
    if (this.closedWith) {
      return Promise.reject(
        new GuestChannelClosedError(`cannot send ${msg.type}: guest channel closed`, this.closedWith.cause),
      );
    }
    if (this.stream.write(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.drainWaiters.add((err) => (err ? reject(err) : resolve()));
    });
  }

  private wakeWriters(err?: Error): void {
    const waiters = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const w of waiters) w(err);
  }

  private receive(chunk: Uint8Array): void {
    if (this.closedWith) return;
    try {
      this.buffer.append(chunk);
      for (let msg = this.buffer.tryRead(); msg !== undefined; msg = this.buffer.tryRead()) {
        for (const cb of [...this.messageListeners]) cb(msg);
        if (this.closedWith) return;
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private ended(): void {
    const left = this.buffer.buffered;
    this.end(
      left > 0
        ? new GuestProtocolError(`guest channel ended inside a frame (${left} bytes of it received)`)
        : undefined,
    );
  }

  private fail(err: Error): void {
    if (this.closedWith) return;
    for (const cb of [...this.errorListeners]) cb(err);
    this.end(err);
  }

  private end(cause: Error | undefined): void {
    if (this.closedWith) return;
    this.closedWith = { cause };
    this.stream.destroy();
    this.wakeWriters(new GuestChannelClosedError('guest channel closed while a frame waited to be written', cause));
    const listeners = this.closeListeners.splice(0);
    for (const cb of listeners) cb(cause);
  }
}

function add<T>(list: Listener<T>[], cb: Listener<T>): () => void {
  list.push(cb);
  return () => {
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  };
}
