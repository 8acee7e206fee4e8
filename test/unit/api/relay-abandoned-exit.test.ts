/**
 * Found by the start-stdin fuzz target (test/fuzz/regressions/start-stdin-*.json): Hello, RunProcess, then EOF at
 * once. The service ends and closes its output, so the RunProcess reply cannot be written and relayProcess gives up
 * on the process without awaiting its exit; the shutdown that follows rejects that exit (the guest channel closed),
 * and the rejection was unhandled, which crashes `start` (Node's default) instead of letting it exit 0.
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import type { ActivityApi, ExitStatus } from '../../../src/activity-api.js';
import { RequestSchema } from '../../../src/api/generated/runtime_pb.js';
import { runService } from '../../../src/api/service.js';
import { encodeFrame } from '../../helpers/delimited.js';

test('a process whose RunProcess reply was never written: its exit rejecting later is handled', async () => {
  let rejectExit!: (err: Error) => void;
  // Like the real activity's handle: nothing guards this promise but whoever awaits it.
  const exit = new Promise<ExitStatus>((_resolve, reject) => (rejectExit = reject));
  const activity = {
    // exec outlasts the service's end (EOF, shutdown, output closed), so the reply finds the output closed.
    exec: async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { pid: 1, exit, writeStdin: async () => {}, closeStdin: async () => {} };
    },
    // The channel closing under the process: its exit rejects, after exec came back.
    shutdown: async () => void setTimeout(() => rejectExit(new Error('guest channel closed')), 40),
  } as unknown as ActivityApi;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const input = new PassThrough();
    const output = new Writable({ write: (_c, _e, cb) => cb() });
    const code = runService({ input, output, boot: async () => activity, log: pino({ level: 'silent' }) });
    const frame = (init: object): Uint8Array =>
      encodeFrame(toBinary(RequestSchema, create(RequestSchema, init as never)));
    input.write(frame({ id: 2n, command: { case: 'hello', value: { version: '0.1.0' } } }));
    input.write(frame({ id: 3n, command: { case: 'run', value: { bin: 'sleep' } } }));
    input.end();
    assert.equal(await code, 0);
    await new Promise((resolve) => setTimeout(resolve, 80));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});
