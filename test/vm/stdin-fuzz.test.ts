/**
 * `start`'s stdin fuzzed against a real VM (issue 17, item 3; the bulk runs against a fake activity in
 * test/fuzz/service-target.ts). Part 1: one runtime gets 24 mutated streams of whole frames (built requests, unknown
 * fields and oneof cases, mutated golden requests; no Shutdown), each cut at random points; after each it must
 * still answer a RunProcess exactly, and at the end shut down with nothing left. Part 2: 6 runtimes each get a
 * Hello, then a stream that breaks the framing (a huge or overlong length prefix, a frame cut short) and EOF; each
 * must end by itself, promptly, with no QEMU or virtiofsd left. The streams are fast-check samples from a fixed seed.
 * The usual teardown (service-runtime.ts `finish`) is not used: the fuzzed RunProcess requests make ProcessStatus
 * events for pids the client never asked for, which it counts as contract violations; only framing ones count here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DecodedResponse, ExeUnitClient } from '../helpers/exeunit-client.js';
import { spawnRuntime } from '../helpers/service-runtime.js';
import { removeTestDir, testImage, waitNoneAlive } from '../helpers/vm.js';
import { chunksOf, splits } from '../fuzz/lib/mutate.js';
import { breakingTail, servedStream, type Pb } from '../fuzz/service-target.js';

const pb = (await import('../../src/api/generated/runtime_pb.js')) as Pb;
const framingViolations = (v: string[]): string[] => v.filter((s) => /invalid frame|partial frame/.test(s));

/** A RunProcess of echo, followed by its pid: the fuzzed RunProcess requests run processes of their own, whose
 * events the client's first-unseen-pid binding (ExeUnitClient.run) could take for this one's. */
async function probe(client: ExeUnitClient, i: number): Promise<{ stdout: string; code: number }> {
  const reply = await client.request({ run: { bin: '/bin/echo', args: ['echo', 'alive', String(i)] } }, 1_000_000 + i);
  assert.equal(reply.kind, 'run', `RunProcess answered after stream ${i}: ${JSON.stringify(reply)}`);
  const pid = reply.kind === 'run' ? reply.pid : -1;
  const ofPid = (r: DecodedResponse): r is DecodedResponse & { kind: 'status' } =>
    r.kind === 'status' && r.status.pid === pid;
  const last = await client.waitFor((r) => ofPid(r) && !r.status.running, 60_000);
  const out = client.responses.filter(ofPid).map((r) => r.status.stdout);
  return { stdout: Buffer.concat(out).toString(), code: last.kind === 'status' ? last.status.returnCode : -1 };
}

test('24 mutated frame streams into one runtime: it answers after each and shuts down cleanly', async () => {
  const rt = await spawnRuntime(testImage());
  try {
    await rt.client.hello();
    const streams = fc.sample(fc.tuple(servedStream(pb, 6), splits), { numRuns: 24, seed: 17 });
    for (const [i, [bytes, s]] of streams.entries()) {
      for (const c of chunksOf(bytes, s)) rt.client.sendRaw(c);
      const r = await probe(rt.client, i);
      assert.deepEqual(r, { stdout: `alive ${i}\n`, code: 0 }, `answers exactly after stream ${i}`);
    }
    assert.deepEqual(framingViolations(rt.client.violations), [], 'stdout stayed a frame stream');
    const exit = await rt.client.shutdown(15_000);
    assert.equal(exit.code, 0, 'Shutdown after the streams: exit 0');
  } finally {
    await rt.client.dispose();
    assert.deepEqual(await waitNoneAlive(rt.workdir, 5000), [], 'no QEMU/virtiofsd outlives the runtime');
    await removeTestDir(rt.base);
  }
});

test('6 streams that break the framing, then EOF: each runtime ends by itself, nothing left', async () => {
  const tails = fc.sample(fc.tuple(servedStream(pb, 3), breakingTail(), splits), { numRuns: 6, seed: 17 });
  for (const [i, [served, tail, s]] of tails.entries()) {
    const rt = await spawnRuntime(testImage());
    try {
      await rt.client.hello();
      for (const c of chunksOf(Buffer.concat([served, tail]), s)) rt.client.sendRaw(c);
      rt.client.closeStdin();
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        rt.client.exited,
        new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), 30_000))),
      ]);
      clearTimeout(timer);
      assert.notEqual(exit, 'hang', `stream ${i}: the runtime did not end within 30 s of EOF`);
      assert.equal(typeof exit === 'object' && exit.signal, null, `stream ${i}: ended by itself, not a signal`);
      assert.deepEqual(framingViolations(rt.client.violations), [], `stream ${i}: stdout stayed a frame stream`);
      assert.deepEqual(await waitNoneAlive(rt.workdir, 5000), [], `stream ${i}: no QEMU/virtiofsd left`);
    } finally {
      await rt.client.dispose();
      await removeTestDir(rt.base);
    }
  }
});
