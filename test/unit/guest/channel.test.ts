// GuestChannel (layer 2): frames out in order through the one-slot queue with 'drain', decoded frames in,
// onError/onClose on malformed input, on an end of stream inside a frame, and on close().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GuestChannel } from '../../../src/guest/channel.js';
import { GuestChannelClosedError, GuestProtocolError } from '../../../src/guest/errors.js';
import { encodeMessage, type Message } from '../../../src/guest/frames.js';
import { socketPair } from './fake-guest.js';

test('frames larger than the socket buffer are written whole, in order, awaiting drain', async () => {
  const [a, b] = await socketPair();
  const sender = new GuestChannel(a);
  b.pause(); // the peer does not read yet: writes must queue behind 'drain'
  const frames: Message[] = Array.from({ length: 12 }, (_, i) => ({
    type: 'STDIN',
    id: i + 1,
    procId: 1,
    data: new Uint8Array(512 * 1024).fill(i),
  }));
  let settled = 0;
  const sends = frames.map((f) => sender.send(f).then(() => void settled++));
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(settled < frames.length, 'every send resolved although the peer read nothing');
  const receiver = new GuestChannel(b);
  const got: Message[] = [];
  const done = new Promise<void>((resolve) =>
    receiver.onMessage((m) => {
      got.push(m);
      if (got.length === frames.length) resolve();
    }),
  );
  b.resume();
  await Promise.all(sends);
  await done;
  assert.deepEqual(got, frames);
  sender.close();
  receiver.close();
});

test('an end of stream inside a frame closes the channel with a protocol error', async () => {
  const [a, b] = await socketPair();
  const ch = new GuestChannel(a);
  const closed = new Promise<Error | undefined>((r) => ch.onClose(r));
  const frame = encodeMessage({ type: 'OK', id: 1 });
  b.end(frame.subarray(0, 5));
  const cause = await closed;
  assert.ok(cause instanceof GuestProtocolError);
  assert.equal(cause.message, 'guest channel ended inside a frame (5 bytes of it received)');
  b.destroy();
});

test('a clean end of stream closes with no cause; send afterwards rejects', async () => {
  const [a, b] = await socketPair();
  const ch = new GuestChannel(a);
  const got: Message[] = [];
  ch.onMessage((m) => got.push(m));
  const closed = new Promise<Error | undefined>((r) => ch.onClose(r));
  b.end(encodeMessage({ type: 'OK', id: 1 }));
  assert.equal(await closed, undefined);
  assert.deepEqual(got, [{ type: 'OK', id: 1 }]);
  assert.equal(ch.closed, true);
  await assert.rejects(
    ch.send({ type: 'SYNC', id: 2 }),
    (err: unknown) =>
      err instanceof GuestChannelClosedError && err.message === 'cannot send SYNC: guest channel closed',
  );
  // onClose after the fact is called at once.
  let late: Error | undefined | null = null;
  ch.onClose((c) => (late = c));
  assert.equal(late, undefined);
});

test('a malformed frame: onError, then onClose with the same error; no frame after it is delivered', async () => {
  const [a, b] = await socketPair();
  const ch = new GuestChannel(a);
  const events: string[] = [];
  ch.onMessage((m) => events.push(`msg:${m.type}`));
  ch.onError((e) => events.push(`error:${e.message}`));
  const closed = new Promise<Error | undefined>((r) => ch.onClose(r));
  const bad = Uint8Array.of(0, 0, 0, 0, 0x80, 0, 0, 0x01, 1, 0, 0, 0);
  b.write(Buffer.concat([encodeMessage({ type: 'OK', id: 1 }), bad, encodeMessage({ type: 'OK', id: 2 })]));
  const cause = await closed;
  assert.deepEqual(events, ['msg:OK', 'error:frame header: flags 0x0100 are not 0 (type OK, id 1)']);
  assert.equal(cause?.message, 'frame header: flags 0x0100 are not 0 (type OK, id 1)');
  b.destroy();
});

test('a listener that throws breaks the channel with its error', async () => {
  const [a, b] = await socketPair();
  const ch = new GuestChannel(a);
  ch.onMessage(() => {
    throw new GuestProtocolError('unexpected');
  });
  const closed = new Promise<Error | undefined>((r) => ch.onClose(r));
  b.write(encodeMessage({ type: 'OK', id: 1 }));
  assert.equal((await closed)?.message, 'unexpected');
  b.destroy();
});

test('a bad message rejects send without writing anything', async () => {
  const [a, b] = await socketPair();
  const ch = new GuestChannel(a);
  await assert.rejects(ch.send({ type: 'KILL', id: 1, procId: -1, signal: 9 }), { code: 'GUEST_BAD_ARGUMENT' });
  await ch.send({ type: 'SYNC', id: 2 });
  const rx = new GuestChannel(b);
  const got = await new Promise<Message>((r) => rx.onMessage(r));
  assert.deepEqual(got, { type: 'SYNC', id: 2 });
  ch.close();
  rx.close();
});
