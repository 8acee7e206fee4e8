// GuestClient process output against a fake init: ordering, exit after the last chunk, credit behind the sink.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutputSink } from '../../../src/guest/process-io.js';
import { GuestOutputError } from '../../../src/guest/errors.js';
import { INITIAL_CREDIT, type HostMessage } from '../../../src/guest/frames.js';
import { onRun, recordingSink, setup, sleep, spec, text, utf8 } from './client-harness.js';

test('run: output in order, exit only after the last chunk reached a slow sink', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => {
    await g.send({ type: 'OK', id: run.id });
    await g.output(run.procId, 1, utf8('a'));
    await g.output(run.procId, 2, utf8('b'));
    await g.output(run.procId, 1, utf8('c'));
    await g.send({ type: 'EXIT', id: 0, procId: run.procId, exitCode: 3, signal: 0 });
  });
  const sink = recordingSink(15);
  const p = await client.run(spec(), sink);
  assert.equal(p.procId, 1);
  const status = await p.exit;
  assert.deepEqual(status, { code: 3, signal: null });
  assert.deepEqual(sink.log, ['out:a', 'err:b', 'out:c']);
  const run = guest.received.find((m) => m.type === 'RUN');
  assert.deepEqual(run, {
    type: 'RUN',
    id: 1,
    procId: 1,
    uid: 0,
    gid: 0,
    flags: 0,
    path: '/bin/sh',
    cwd: '/',
    argv: ['sh', '-c', 'x'],
    env: ['PATH=/bin'],
  });
});

test('run: a signaled exit reports code 128+N and the signal', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => {
    await g.send({ type: 'OK', id: run.id });
    await g.send({ type: 'EXIT', id: 0, procId: run.procId, exitCode: 137, signal: 9 });
  });
  const p = await client.run(spec(), recordingSink());
  assert.deepEqual(await p.exit, { code: 137, signal: 9 });
});

test('output that arrives before the RUN reply is delivered', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => {
    await g.output(run.procId, 1, utf8('early'));
    await g.send({ type: 'OK', id: run.id });
    await g.send({ type: 'EXIT', id: 0, procId: run.procId, exitCode: 0, signal: 0 });
  });
  const sink = recordingSink();
  const p = await client.run(spec(), sink);
  await p.exit;
  assert.deepEqual(sink.log, ['out:early']);
});

test('credit is granted only after the sink resolved', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => {
    await g.send({ type: 'OK', id: run.id });
    await g.output(run.procId, 1, utf8('0123456789'));
  });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let called = false;
  const p = await client.run(spec(), {
    stdout: async () => {
      called = true;
      await gate;
    },
    stderr: async () => {},
  });
  while (!called) await sleep(2);
  await sleep(30);
  assert.equal(guest.received.filter((m) => m.type === 'CREDIT').length, 0, 'credit before the sink resolved');
  release();
  const credit = await guest.waitFor((m) => m.type === 'CREDIT');
  assert.deepEqual(credit, { type: 'CREDIT', id: 0, procId: p.procId, bytes: 10 });
});

test('4 MiB through a slow sink: outstanding never exceeds 256 KiB, grants never exceed deliveries', async () => {
  const { client, guest } = await setup();
  const total = 4 * 1024 * 1024;
  let maxOutstanding = 0;
  let delivered = 0;
  onRun(guest, async (run, g) => {
    await g.send({ type: 'OK', id: run.id });
    const data = new Uint8Array(total).map((_, i) => i % 251);
    // Odd chunk sizes so that grants and reads do not line up.
    for (let at = 0; at < total; at += 10_007) {
      await g.output(run.procId, at % 3 === 0 ? 2 : 1, data.subarray(at, at + 10_007));
      const outstanding = INITIAL_CREDIT - g.creditOf(run.procId);
      maxOutstanding = Math.max(maxOutstanding, outstanding);
    }
    await g.send({ type: 'EXIT', id: 0, procId: run.procId, exitCode: 0, signal: 0 });
  });
  let grantedSeen = 0;
  let credits = 0;
  const overGrants: string[] = [];
  guest.channel.onMessage((m) => {
    if (m.type === 'CREDIT') {
      credits++;
      grantedSeen += m.bytes;
      if (grantedSeen > delivered) overGrants.push(`granted ${grantedSeen} > delivered ${delivered}`);
    }
  });
  let chunks = 0;
  const slow = async (c: Uint8Array): Promise<void> => {
    if (++chunks % 16 === 0) await sleep(1);
    delivered += c.length;
  };
  const p = await client.run(spec(), { stdout: slow, stderr: slow });
  assert.deepEqual(await p.exit, { code: 0, signal: null });
  assert.equal(delivered, total);
  assert.equal(guest.sent.get(p.procId), total);
  assert.ok(maxOutstanding <= INITIAL_CREDIT, `outstanding reached ${maxOutstanding}`);
  assert.ok(maxOutstanding > INITIAL_CREDIT / 2, 'the test never filled the window');
  assert.deepEqual(overGrants, []);
  assert.ok(credits < total / 10_007, `grants were not coalesced: ${credits} CREDIT frames`);
});

test('a process exhausting its window with tiny chunks is not starved', async () => {
  const { client, guest } = await setup();
  const chunk = 1000;
  const count = 2 * Math.ceil(INITIAL_CREDIT / chunk);
  onRun(guest, async (run, g) => {
    await g.send({ type: 'OK', id: run.id });
    for (let i = 0; i < count; i++) await g.output(run.procId, 1, new Uint8Array(chunk));
    await g.send({ type: 'EXIT', id: 0, procId: run.procId, exitCode: 0, signal: 0 });
  });
  const sink = recordingSink();
  const p = await client.run(spec(), sink);
  await p.exit;
  assert.equal(sink.bytes, count * chunk);
});

test('two interleaved processes: a blocked sink does not hold up the other process', async () => {
  const { client, guest } = await setup();
  const runs: Extract<HostMessage, { type: 'RUN' }>[] = [];
  onRun(guest, async (run, g) => {
    runs.push(run);
    await g.send({ type: 'OK', id: run.id });
  });
  let releaseA!: () => void;
  const gateA = new Promise<void>((r) => (releaseA = r));
  const logA: string[] = [];
  const sinkA: OutputSink = {
    stdout: async (c) => {
      await gateA;
      logA.push(text(c));
    },
    stderr: async () => {},
  };
  const sinkB = recordingSink();
  const a = await client.run(spec({ path: 'a' }), sinkA);
  const b = await client.run(spec({ path: 'b' }), sinkB);
  assert.deepEqual([a.procId, b.procId], [1, 2]);
  await guest.output(a.procId, 1, utf8('a1'));
  await guest.output(b.procId, 1, utf8('b1'));
  await guest.output(a.procId, 1, utf8('a2'));
  await guest.output(b.procId, 2, utf8('b2'));
  await guest.send({ type: 'EXIT', id: 0, procId: a.procId, exitCode: 1, signal: 0 });
  await guest.send({ type: 'EXIT', id: 0, procId: b.procId, exitCode: 2, signal: 0 });
  assert.deepEqual(await b.exit, { code: 2, signal: null });
  assert.deepEqual(sinkB.log, ['out:b1', 'err:b2']);
  let aDone = false;
  void a.exit.then(() => (aDone = true));
  await sleep(20);
  assert.equal(aDone, false, 'exit of A resolved before its output was delivered');
  releaseA();
  assert.deepEqual(await a.exit, { code: 1, signal: null });
  assert.deepEqual(logA, ['a1', 'a2']);
});

test('a failing sink rejects exit with GuestOutputError but the process still runs to its end', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => {
    await g.send({ type: 'OK', id: run.id });
    await g.output(run.procId, 1, new Uint8Array(INITIAL_CREDIT));
    await g.output(run.procId, 1, new Uint8Array(1000)); // needs credit for the dropped bytes
    await g.send({ type: 'EXIT', id: 0, procId: run.procId, exitCode: 0, signal: 0 });
  });
  const p = await client.run(spec(), {
    stdout: async () => {
      throw new Error('EPIPE');
    },
    stderr: async () => {},
  });
  await assert.rejects(
    p.exit,
    (err: unknown) => err instanceof GuestOutputError && (err.cause as Error).message === 'EPIPE',
  );
});
