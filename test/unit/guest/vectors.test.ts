// Golden vectors (test/vectors/guest/*.txt): the files match vectors.ts, decode to the expected messages,
// re-encode byte for byte, and every malformed frame fails with exactly the error its comment names.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { describeMessage } from '../../../src/guest/describe.js';
import { GuestProtocolError } from '../../../src/guest/errors.js';
import { decodeFrame, encodeMessage, GuestFrameBuffer, isGuestMessage, MsgType } from '../../../src/guest/frames.js';
import { FRAME_VECTORS, MALFORMED_VECTORS, fromHex, parseVectorFile, toHex } from '../../vectors/guest/vectors.js';

const dir = path.resolve('test/vectors/guest');
const frames = parseVectorFile(fs.readFileSync(path.join(dir, 'frames.txt'), 'utf8'));
const malformed = parseVectorFile(fs.readFileSync(path.join(dir, 'malformed.txt'), 'utf8'));

test('frames.txt holds exactly the vectors of vectors.ts', () => {
  assert.equal(frames.length, FRAME_VECTORS.length);
  frames.forEach((f, i) => {
    const v = FRAME_VECTORS[i]!;
    assert.equal(f.direction, v.direction);
    assert.equal(f.text, describeMessage(v.message));
  });
});

test('every message type appears in frames.txt, in the right direction', () => {
  const types = new Set(frames.map((f) => decodeFrame(f.bytes).type));
  assert.deepEqual([...types].sort(), Object.keys(MsgType).sort());
  for (const f of frames) {
    const guest = isGuestMessage(decodeFrame(f.bytes));
    assert.equal(f.direction, guest ? 'guest->host' : 'host->guest', f.text);
  }
});

for (const [i, f] of frames.entries()) {
  test(`vector ${i}: ${f.text}`, () => {
    const msg = decodeFrame(f.bytes);
    assert.deepEqual(msg, FRAME_VECTORS[i]!.message);
    assert.equal(describeMessage(msg), f.text);
    assert.equal(toHex(encodeMessage(msg)), toHex(f.bytes));
  });
}

test('hand-checked bytes against docs/guest-protocol.md', () => {
  // HELLO{id=1, version=1}: len 4, type 0x0001, flags 0, id 1, u32 1.
  assert.equal(
    toHex(encodeMessage({ type: 'HELLO', id: 1, version: 1 })),
    '04000000' + '0100' + '0000' + '01000000' + '01000000',
  );
  // CREDIT{proc 7, 65536}: len 8, type 0x0007, id 0.
  assert.equal(
    toHex(encodeMessage({ type: 'CREDIT', id: 0, procId: 7, bytes: 65536 })),
    '08000000070000000000000007000000' + '00000100',
  );
  // EXIT after SIGKILL: exit_code 137 = 0x89, signal 9.
  assert.equal(
    toHex(encodeMessage({ type: 'EXIT', id: 0, procId: 8, exitCode: 137, signal: 9 })),
    '0c000000910000000000000008000000' + '89000000' + '09000000',
  );
  // u64 little-endian, str = u32 length + bytes.
  assert.equal(
    toHex(
      encodeMessage({
        type: 'MOUNT_ROOT',
        id: 3,
        imageSerial: 'a',
        upperSerial: '',
        tmpfsSize: 0x0102030405060708n,
        hostname: 'h',
      }),
    ),
    '16000000' + '0200' + '0000' + '03000000' + '0100000061' + '00000000' + '0807060504030201' + '0100000068',
  );
  // OUTPUT: u32 proc_id, u8 fd, then the rest is data.
  assert.deepEqual(decodeFrame(fromHex('0600000090000000000000000700000002' + '21')), {
    type: 'OUTPUT',
    id: 0,
    procId: 7,
    fd: 2,
    data: Uint8Array.of(0x21),
  });
  // ERROR: i32 errno, str message.
  assert.deepEqual(decodeFrame(fromHex('0a000000810000000500000002000000' + '02000000' + '6e6f')), {
    type: 'ERROR',
    id: 5,
    errno: 2,
    message: 'no',
  });
});

test('malformed.txt holds exactly the vectors of vectors.ts', () => {
  assert.equal(malformed.length, MALFORMED_VECTORS.length);
  malformed.forEach((m, i) => {
    const v = MALFORMED_VECTORS[i]!;
    assert.equal(m.direction, v.direction);
    assert.equal(m.text, v.reason);
    assert.equal(toHex(m.bytes), toHex(v.bytes));
  });
});

for (const m of malformed) {
  test(`malformed: ${m.text}`, () => {
    assert.throws(
      () => decodeFrame(m.bytes),
      (err: unknown) => {
        assert.ok(err instanceof GuestProtocolError);
        assert.equal(err.code, 'GUEST_PROTOCOL');
        assert.equal(err.message, m.text);
        return true;
      },
    );
    // A stream decoder rejects it too, with the same error, unless the frame is only cut short.
    const buf = new GuestFrameBuffer();
    if (m.text.startsWith('frame truncated:')) {
      buf.append(m.bytes);
      assert.equal(buf.tryRead(), undefined);
      assert.equal(buf.buffered, m.bytes.length);
    } else {
      assert.throws(
        () => {
          buf.append(m.bytes);
          buf.tryRead();
        },
        { message: m.text },
      );
    }
  });
}
