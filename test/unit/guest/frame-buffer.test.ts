// GuestFrameBuffer: frames split at every byte and at random chunk sizes, header checked before the payload is
// buffered, sticky errors; the encoder refuses what the peer would reject.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { GuestArgumentError } from '../../../src/guest/errors.js';
import {
  decodeFrame,
  encodeMessage,
  GuestFrameBuffer,
  MAX_PAYLOAD,
  MAX_STRLIST,
  type Message,
} from '../../../src/guest/frames.js';
import { parseVectorFile } from '../../vectors/guest/vectors.js';

const vectors = parseVectorFile(fs.readFileSync(path.resolve('test/vectors/guest/frames.txt'), 'utf8'));
const expected = vectors.map((v) => decodeFrame(v.bytes));
const stream = Uint8Array.from(vectors.flatMap((v) => Array.from(v.bytes)));

function readAll(buf: GuestFrameBuffer): Message[] {
  const out: Message[] = [];
  for (let m = buf.tryRead(); m !== undefined; m = buf.tryRead()) out.push(m);
  return out;
}

test('the whole vector stream in one chunk', () => {
  const buf = new GuestFrameBuffer();
  buf.append(stream);
  assert.deepEqual(readAll(buf), expected);
  assert.equal(buf.buffered, 0);
});

test('each frame split at every byte', () => {
  for (const v of vectors) {
    for (let cut = 0; cut <= v.bytes.length; cut++) {
      const buf = new GuestFrameBuffer();
      buf.append(v.bytes.subarray(0, cut));
      const first = readAll(buf);
      buf.append(v.bytes.subarray(cut));
      const all = [...first, ...readAll(buf)];
      assert.deepEqual(all, [decodeFrame(v.bytes)], `${v.text} cut at ${cut}`);
    }
  }
});

test('the stream one byte at a time', () => {
  const buf = new GuestFrameBuffer();
  const out: Message[] = [];
  for (let i = 0; i < stream.length; i++) {
    buf.append(stream.subarray(i, i + 1));
    out.push(...readAll(buf));
  }
  assert.deepEqual(out, expected);
});

test('the stream at random chunk sizes (seeded)', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const buf = new GuestFrameBuffer();
    const out: Message[] = [];
    for (let at = 0; at < stream.length;) {
      const n = 1 + rand(round % 2 === 0 ? 16 : 200);
      buf.append(stream.slice(at, at + n));
      at += n;
      out.push(...readAll(buf));
    }
    assert.deepEqual(out, expected, `round ${round}`);
  }
});

test('a 1 MiB frame in 64 KiB chunks', () => {
  const data = new Uint8Array(MAX_PAYLOAD - 4).map((_, i) => i & 0xff);
  const frame = encodeMessage({ type: 'STDIN', id: 9, procId: 3, data });
  const buf = new GuestFrameBuffer();
  let got: Message | undefined;
  for (let at = 0; at < frame.length; at += 65536) {
    buf.append(frame.subarray(at, at + 65536));
    got = buf.tryRead();
    if (at + 65536 < frame.length) assert.equal(got, undefined);
  }
  assert.deepEqual(got, { type: 'STDIN', id: 9, procId: 3, data });
});

test('a bad header is refused by append as soon as its 12 bytes are in', () => {
  const buf = new GuestFrameBuffer();
  buf.append(Uint8Array.of(0x01, 0x00, 0x10, 0x00, 0x04, 0x00, 0x00)); // len 1048577 ... (7 bytes: not checked yet)
  const msg = 'frame header: length 1048577 exceeds MAX_PAYLOAD 1048576 (type 0x0004, id 1)';
  assert.throws(() => buf.append(Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x00)), { message: msg });
  // Broken for good: later calls throw the same error.
  assert.throws(() => buf.append(Uint8Array.of(0)), { message: msg });
  assert.throws(() => buf.tryRead(), { message: msg });
});

test('a frame following a good one in the same chunk is still checked', () => {
  const good = encodeMessage({ type: 'OK', id: 1 });
  const bad = Uint8Array.of(0, 0, 0, 0, 0x80, 0, 1, 0, 2, 0, 0, 0);
  const buf = new GuestFrameBuffer();
  buf.append(Uint8Array.from([...good, ...bad]));
  assert.deepEqual(buf.tryRead(), { type: 'OK', id: 1 });
  assert.throws(() => buf.tryRead(), { message: 'frame header: flags 0x0001 are not 0 (type OK, id 2)' });
});

test('OUTPUT of 65537 bytes is rejected; 65536 accepted', () => {
  const frame = (n: number): Uint8Array => {
    const b = new Uint8Array(12 + 5 + n);
    const v = new DataView(b.buffer);
    v.setUint32(0, 5 + n, true);
    v.setUint16(4, 0x90, true);
    v.setUint32(12, 7, true);
    b[16] = 1;
    return b;
  };
  assert.equal((decodeFrame(frame(65536)) as { data: Uint8Array }).data.length, 65536);
  assert.throws(() => decodeFrame(frame(65537)), {
    message: 'OUTPUT frame (id 0): data of 65537 bytes, must be 1..65536',
  });
});

test('strlist of exactly 4096 entries decodes', () => {
  const argv = Array.from({ length: MAX_STRLIST }, (_, i) => `a${i}`);
  const msg: Message = { type: 'RUN', id: 1, procId: 1, uid: 0, gid: 0, flags: 0, path: 'x', cwd: '', argv, env: [] };
  assert.deepEqual(decodeFrame(encodeMessage(msg)), msg);
});

test('the encoder refuses what init would reject', () => {
  const run = (over: Partial<Extract<Message, { type: 'RUN' }>>): Message => ({
    type: 'RUN',
    id: 1,
    procId: 1,
    uid: 0,
    gid: 0,
    flags: 0,
    path: '/bin/sh',
    cwd: '/',
    argv: ['sh'],
    env: [],
    ...over,
  });
  const cases: [Message, string][] = [
    [run({ argv: ['sh', 'a\0b'] }), 'RUN frame (id 1): argv[1] contains a NUL character'],
    [run({ path: '/bin\0' }), 'RUN frame (id 1): path contains a NUL character'],
    [run({ argv: Array.from({ length: 4097 }, () => '') }), 'RUN frame (id 1): argv has 4097 entries, more than 4096'],
    [run({ uid: -1 }), 'RUN frame (id 1): uid -1 is not an integer in 0..4294967295'],
    [run({ procId: 1.5 }), 'RUN frame (id 1): proc_id 1.5 is not an integer in 0..4294967295'],
    [
      { type: 'STDIN', id: 2, procId: 1, data: new Uint8Array(MAX_PAYLOAD - 3) },
      'STDIN frame (id 2): payload of 1048577 bytes exceeds MAX_PAYLOAD 1048576',
    ],
    [
      { type: 'OUTPUT', id: 0, procId: 1, fd: 1, data: new Uint8Array(0) },
      'OUTPUT frame (id 0): data of 0 bytes, must be 1..65536',
    ],
    [
      { type: 'MOUNT_ROOT', id: 3, imageSerial: 'a', upperSerial: '', tmpfsSize: -1n, hostname: 'h' },
      'MOUNT_ROOT frame (id 3): tmpfs_size -1 is not a u64',
    ],
  ];
  for (const [msg, message] of cases) {
    assert.throws(
      () => encodeMessage(msg),
      (err: unknown) => {
        assert.ok(err instanceof GuestArgumentError);
        assert.equal(err.reply, 'bad-request');
        assert.equal(err.message, message);
        return true;
      },
    );
  }
});

test('invalid UTF-8 from the guest is replaced, not rejected', () => {
  const frame = Uint8Array.of(6, 0, 0, 0, 0x92, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0xff);
  assert.deepEqual(decodeFrame(frame), { type: 'LOG', id: 0, level: 1, message: '\ufffd' });
});
