/**
 * The one-slot write queue and the wait for 'drain' that the three writers share (src/api/frame-codec.ts FrameWriter,
 * src/guest/channel.ts GuestChannel, src/control/session.ts output notifications). A shared leaf: no imports.
 */
import type { Writable } from 'node:stream';

/**
 * Runs tasks one at a time, in the order queued: each starts after the previous one settled, so the frames they
 * write never interleave. A task that rejects rejects its own promise only; the queue goes on.
 */
export class OneSlotQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  /** Resolves when every task queued so far has settled. */
  idle(): Promise<void> {
    return this.tail;
  }
}

/**
 * Waits for the stream's next 'drain': true once it drained, false if it closed first (or, with `error`, failed
 * first). It never rejects; the caller says what a closed stream means.
 */
export function drainOf(stream: Writable, { error = false }: { error?: boolean } = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('close', onGone);
      if (error) stream.off('error', onGone);
    };
    const onDrain = (): void => {
      cleanup();
      resolve(true);
    };
    const onGone = (): void => {
      cleanup();
      resolve(false);
    };
    stream.on('drain', onDrain);
    stream.on('close', onGone);
    if (error) stream.on('error', onGone);
  });
}
