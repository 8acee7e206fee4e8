/**
 * Docker-like exec around background processes (issue 9), 1 vCPU and 0.5 GiB: a command's exit comes when its own
 * process exits, not when the last holder of its pipes closes them; background writers are drained, never
 * blocked or broken; KillProcess ends the whole process tree; Shutdown gives every guest process a SIGTERM before
 * the final sync; and a guest kernel panic is named for the commands in flight and for every later one.
 * No timed assertions: each test asserts an order of events.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { bootTestVm, run, sh, type TestVm } from '../helpers/vm.js';
import { waitFor } from '../helpers/wait.js';

const SMALL = ['--cpu-cores', '1', '--mem-gib', '0.5', '--storage-gib', '1'];

let vm: TestVm;
before(async () => {
  vm = await bootTestVm({ globals: SMALL });
});
after(async () => {
  await vm?.dispose();
});

/** Guest processes (not zombies) whose argv is exactly `argv` (a shell whose script mentions it does not count). */
async function alive(...argv: string[]): Promise<number> {
  const r = await sh(
    vm.activity,
    `ps -o stat,args | awk -v want='${argv.join(' ')}' '$1 !~ /^Z/ { $1 = ""; if (substr($0, 2) == want) n++ } END { print n + 0 }'`,
  );
  return Number(r.stdout.toString().trim());
}

/** Was 100 tries 100 ms apart. */
const eventually = (what: string, cond: () => Promise<boolean>): Promise<void> =>
  waitFor(what, cond, { timeoutMs: 10_000, intervalMs: 100 });

test('sleep 60 & echo started: the exit comes while the sleep lives on, with exactly the output', async () => {
  const r = await sh(vm.activity, 'sleep 61 & echo started');
  assert.equal(r.code, 0);
  assert.equal(r.stdout.toString(), 'started\n');
  assert.equal(r.stderr.toString(), '');
  // The exit event is in: the background process is still running, and later commands see it.
  assert.equal(await alive('sleep', '61'), 1);
  await sh(vm.activity, 'pkill -f "sleep 61"');
});

test('a background writer on the inherited stdout is drained: alive, unblocked, no EPIPE 30 s of guest time later', async () => {
  // Each round writes 20 KB to the stdout the starter left it: without a reader the 64 KiB pipe fills in a few.
  // It starts once the starter has written its line, so that line comes first; what the loop wrote before the
  // starter was reaped may follow it (it was in the pipe then), nothing after the exit.
  const loop =
    '(while [ ! -e /tmp/bg.go ]; do sleep 0.05; done; n=0; while :; do echo x || echo EPIPE >> /tmp/bg.err; head -c 20000 /dev/zero; n=$((n+1)); echo $n > /tmp/bg.count; sleep 0.1; done) & echo $! > /tmp/bg.pid; echo started; touch /tmp/bg.go';
  const r = await sh(vm.activity, loop);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.toString().startsWith('started\n'), JSON.stringify(r.stdout.toString().slice(0, 40)));
  const count = async (): Promise<number> =>
    Number((await run(vm.activity, ['cat', '/tmp/bg.count'])).stdout.toString().trim() || '0');
  await eventually('the loop ran more than 5 rounds', async () => (await count()) > 5);
  const before = await count();
  assert.equal((await run(vm.activity, ['sleep', '30'])).code, 0);
  const after = await count();
  assert.ok(after > before + 5, `the background loop stalled: ${before} rounds, then ${after} after 30 s`);
  assert.equal(
    (
      await sh(vm.activity, 'test -e /tmp/bg.err && cat /tmp/bg.err; kill -0 $(cat /tmp/bg.pid) && echo alive')
    ).stdout.toString(),
    'alive\n',
  );
  // Once the last writer closes the pipes, init logs what it discarded.
  await sh(vm.activity, 'kill $(cat /tmp/bg.pid)');
  await eventually('init logged the discarded bytes', async () =>
    /discarded \d+ bytes its background processes wrote/.test(
      await fsp.readFile(path.join(vm.workdir, 'logs', 'console.log'), 'utf8'),
    ),
  );
});

test('25 runs of printf without a newline arrive whole', async () => {
  for (let i = 0; i < 25; i++) {
    const r = await run(vm.activity, ['printf', `no-newline-${i}`]);
    assert.equal(r.stdout.toString(), `no-newline-${i}`, `run ${i}`);
  }
});

test('the last bytes of a process that exits with a background child holding its pipes still come before its exit', async () => {
  for (let i = 0; i < 10; i++) {
    const r = await sh(vm.activity, `sleep 62 & seq 1 5000; printf 'tail-${i}'`);
    assert.ok(r.stdout.toString().endsWith(`4999\n5000\ntail-${i}`), `run ${i}: ${r.stdout.toString().slice(-30)}`);
  }
  await sh(vm.activity, 'pkill -f "sleep 62"');
});

test('KillProcess of a running command ends its whole process tree', async () => {
  const out: Buffer[] = [];
  const proc = await vm.activity.exec(
    { bin: '/bin/sh', argv: ['/bin/sh', '-c', 'sleep 1001 & sleep 1001 & echo ready; wait'] },
    { stdout: async (c) => void out.push(Buffer.from(c)), stderr: async () => {} },
  );
  await eventually('the tree started', async () => Buffer.concat(out).toString().includes('ready'));
  assert.equal(await alive('sleep', '1001'), 2);
  await vm.activity.kill(proc.pid, 15);
  const s = await proc.exit;
  assert.equal(s.signal, 15);
  await eventually('both background sleeps ended', async () => (await alive('sleep', '1001')) === 0);
});

test('Shutdown: background servers get SIGTERM, may log, and their last writes to a volume land before the VM ends', async () => {
  const own = await bootTestVm({ globals: SMALL });
  try {
    const out = own.deployment.volumes.find((v) => v.guestPath === '/golem/output');
    assert.ok(out && out.kind === 'host');
    // The starter waits until the server's trap is set (else a SIGTERM could come first and just kill it).
    const r = await sh(
      own.activity,
      `(trap 'echo bye > /golem/output/term.txt; exit 0' TERM; touch /tmp/trap.set; while :; do sleep 1; done) >/dev/null 2>&1 & while [ ! -e /tmp/trap.set ]; do sleep 0.05; done; echo started`,
    );
    assert.equal(r.stdout.toString(), 'started\n');
    // A second one logs 200 KB to the stdout it inherited when it gets SIGTERM, then writes its file: init must
    // keep draining that pipe while it waits, or the server blocks on it until SIGKILL.
    const chatty = await sh(
      own.activity,
      `(trap 'head -c 200000 /dev/zero; echo bye > /golem/output/term2.txt; exit 0' TERM; touch /tmp/trap2.set; while :; do sleep 1; done) & while [ ! -e /tmp/trap2.set ]; do sleep 0.05; done; echo started`,
    );
    assert.equal(chatty.stdout.toString(), 'started\n');
    await own.activity.shutdown();
    assert.equal(await fsp.readFile(path.join(out.hostPath, 'term.txt'), 'utf8'), 'bye\n');
    assert.equal(await fsp.readFile(path.join(out.hostPath, 'term2.txt'), 'utf8'), 'bye\n');
  } finally {
    await own.dispose();
  }
});

test('a guest kernel panic is named for the commands in flight and for every later one', async () => {
  const own = await bootTestVm({ globals: SMALL });
  try {
    const inFlight = run(own.activity, ['sleep', '1000']).catch((err: unknown) => err as Error);
    const crash = await sh(own.activity, 'echo c > /proc/sysrq-trigger; sleep 1000').catch(
      (err: unknown) => err as Error,
    );
    for (const err of [crash, await inFlight]) {
      assert.ok(err instanceof Error, `a command in flight ended without an error: ${JSON.stringify(err)}`);
      assert.match(
        err.message,
        /did not finish: guest kernel panic: Kernel panic - not syncing: sysrq triggered crash/,
      );
      assert.equal((err as Error & { code?: string }).code, 'GUEST_KERNEL_PANIC');
    }
    await assert.rejects(run(own.activity, ['true']), (err: Error & { code?: string }) => {
      assert.match(
        err.message,
        /^cannot run true: guest kernel panic: Kernel panic - not syncing: sysrq triggered crash/,
      );
      assert.equal(err.code, 'GUEST_KERNEL_PANIC');
      return true;
    });
  } finally {
    await own.dispose({ expectCrash: true });
  }
});
