/**
 * Found by the guest-frames fuzz target (test/fuzz/regressions/guest-frames-*.json): the TypeScript decoder took a
 * NUL byte in a host frame's path, argument or environment string, which init's decoder (PE_NUL) and our own
 * encoder refuse, so decode then encode threw GUEST_BAD_ARGUMENT instead of giving the frame back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrame, encodeMessage, type Message } from '../../../src/guest/frames.js';
import { GuestProtocolError } from '../../../src/guest/errors.js';

/** A frame as encodeMessage writes it, with the byte at `at` (inside a string) set to 0. */
function withNul(msg: Message, text: string): Uint8Array {
  const frame = encodeMessage(msg);
  const at = Buffer.from(frame).indexOf(Buffer.from(text));
  assert.ok(at > 0, `${text} is in the frame`);
  frame[at] = 0;
  return frame;
}

const cases: [string, Message, string][] = [
  [
    'MOUNT target',
    { type: 'MOUNT', id: 6, fstype: 'tmpfs', source: '', target: '/golem/tmp', options: '', flags: 0 },
    '/golem/tmp',
  ],
  [
    'MOUNT_ROOT hostname',
    { type: 'MOUNT_ROOT', id: 2, imageSerial: 'yaimage', upperSerial: '', tmpfsSize: 0n, hostname: 'golem-vm' },
    'golem-vm',
  ],
  [
    'RUN argv entry',
    {
      type: 'RUN',
      id: 8,
      procId: 7,
      uid: 0,
      gid: 0,
      flags: 0,
      path: '/bin/echo',
      cwd: '/',
      argv: ['echo', 'hi'],
      env: [],
    },
    'hi',
  ],
  [
    'RUN env entry',
    { type: 'RUN', id: 8, procId: 7, uid: 0, gid: 0, flags: 0, path: 'sh', cwd: '/', argv: [], env: ['HOME=/root'] },
    'HOME',
  ],
];

for (const [name, msg, text] of cases) {
  test(`a NUL byte in ${name} is a protocol error, as in init`, () => {
    assert.deepEqual(decodeFrame(encodeMessage(msg)), msg);
    assert.throws(
      () => decodeFrame(withNul(msg, text)),
      (err) => err instanceof GuestProtocolError && /NUL/.test(err.message),
    );
  });
}

test('guest->host strings may hold NUL (init sends messages as they are)', () => {
  const msg: Message = { type: 'ERROR', id: 9, errno: 2, message: 'a\0b' };
  assert.deepEqual(decodeFrame(encodeMessage(msg)), msg);
});
