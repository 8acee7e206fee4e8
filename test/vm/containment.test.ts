/**
 * A hostile requestor (docs/reliability.md, "Hostile requestors and host faults"), 1 vCPU and 0.5 GiB, in one
 * activity driven as the ExeUnit drives it: a fork bomb (other commands are answered while it runs), a memory hog
 * (stopped by the requestor cgroup's limit), the root disk and /tmp filled, an output flood, `kill -9 -1`, garbage
 * written to every virtio port, the volumes unmounted. After each the activity still answers; KillProcess and
 * Shutdown return within the ExeUnit's 5 s; nothing is left running; the guest console has no oops.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { describe, it, before, after } from 'node:test';
import { finish, spawnRuntime, type ServiceRuntime } from '../helpers/service-runtime.js';
import { testImage } from '../helpers/vm.js';
import { waitFor } from '../helpers/wait.js';

/** Bound on one answer while the guest is under attack (TCG on a loaded 2-core machine). */
const ANSWER_MS = 90_000;
const CG = '/sys/fs/cgroup/golem';

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

/** VmHWM of a process, in bytes (the runtime's own high-water mark). */
async function highWater(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('a hostile requestor in one activity (1 vCPU, 0.5 GiB)', () => {
  let rt: ServiceRuntime;
  const sh = async (script: string, what = script, ms = ANSWER_MS) =>
    within(rt.client.run('/bin/sh', ['-c', script]), ms, what);
  const alive = async (what: string): Promise<number> => {
    const t0 = Date.now();
    const r = await within(rt.client.run('/bin/echo', ['alive']), ANSWER_MS, `echo ${what}`);
    assert.equal(r.stdout.toString(), 'alive\n', what);
    return Date.now() - t0;
  };

  before(async () => {
    rt = await spawnRuntime(testImage(), { cpuCores: 1, memGib: 0.5, storageGib: 0.125 });
    await rt.client.hello();
  });
  after(async () => {
    if (rt) await finish(rt);
  });

  it("runs the requestor's processes in their own cgroup, with limits, at nice 0", async () => {
    const r = await sh(
      `cat /proc/self/cgroup ${CG}/pids.max ${CG}/memory.max ${CG}/cpu.weight; cut -d' ' -f19 /proc/self/stat`,
    );
    assert.equal(r.code, 0, r.stderr.toString());
    const [cgroup, pids, mem, weight, nice] = r.stdout.toString().trim().split('\n');
    assert.match(cgroup!, /^0::\/golem\/p[0-9]+$/, 'each command in a leaf of its own under golem');
    assert.equal(pids, '1024', 'the default for 0.5 GiB: 2 per MiB, at least 1024');
    // 0.5 GiB less the default reserve of 32 MiB, of what the guest kernel reports as MemTotal.
    assert.ok(Number(mem) > 400 * 2 ** 20 && Number(mem) < 480 * 2 ** 20, `memory.max ${mem}`);
    assert.equal(weight, '100');
    assert.equal(nice, '0', 'the requestor does not inherit init’s nice -10');
  });

  it('answers commands while a background fork bomb holds every pid; KillProcess and kill -9 -1 still work', async () => {
    // As a requestor would start it (the ExeUnit runs one step at a time): the command returns, the bomb goes on.
    const started = await sh('b() { b | b & }; b; echo started');
    assert.equal(started.stdout.toString(), 'started\n');
    try {
      // Each poll is itself a command answered during the bomb.
      await waitFor(
        'the bomb to reach pids.max',
        async () => /max [1-9]/.test((await sh(`cat ${CG}/pids.events`)).stdout.toString()),
        { timeoutMs: 180_000, intervalMs: 1000 },
      );
      const during = await alive('during the fork bomb');
      console.error(`# echo answered in ${during} ms while the fork bomb held every pid`);
      const sleeper = await rt.client.start('/bin/sleep', ['600']);
      const t0 = Date.now();
      await rt.client.kill(sleeper.pid, 9);
      assert.ok(Date.now() - t0 < 5000, `KillProcess took ${Date.now() - t0} ms`);
      assert.notEqual((await within(sleeper.result, 30_000, 'the killed command to end')).code, 0);
    } finally {
      // kill is a shell builtin: it needs no fork, so it runs with every pid taken. init (PID 1) is not hit.
      await sh('kill -9 -1');
    }
    await waitFor(
      'the bomb’s processes to be gone',
      async () => Number((await sh(`cat ${CG}/pids.current`)).stdout.toString()) <= 3,
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    await alive('after the fork bomb');
  });

  it('a memory hog is stopped by the limit in bounded time', async () => {
    const hog = await sh('x=0123456789abcdef; while :; do x=$x$x; done', 'the hog', 240_000);
    assert.notEqual(hog.code, 0);
    const events = (await sh(`cat ${CG}/memory.events`)).stdout.toString();
    assert.match(events, /oom_kill [1-9]/);
    await alive('after the hog');
  });

  it('filling the root disk and /tmp is a clean ENOSPC for the process', async () => {
    for (const file of ['/fill', '/tmp/fill']) {
      const r = await sh(`dd if=/dev/zero of=${file} bs=1M 2>&1; echo rc=$?; rm -f ${file}`, `fill ${file}`, 240_000);
      assert.match(r.stdout.toString(), /No space left on device[\s\S]*rc=1/, `${file}: ${r.stdout.toString()}`);
    }
    await alive('after the disk fills');
  });

  it('an output flood arrives whole and the runtime’s memory stays bounded', async () => {
    const r = await sh('yes flood | head -c 20000000', 'the flood', 240_000);
    assert.equal(r.stdout.length, 20_000_000);
    const hwm = await highWater(rt.client.child.pid!);
    console.error(`# runtime VmHWM after the flood: ${(hwm / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(hwm < 400 * 2 ** 20, `runtime high-water mark ${hwm}`);
  });

  it('kill -9 -1, garbage on every virtio port and unmounted volumes leave it serving', async () => {
    await sh('kill -9 -1');
    await alive('after kill -9 -1');
    await sh('for p in /dev/vport*; do head -c 65536 /dev/urandom > "$p"; done 2>/dev/null; true');
    await alive('after garbage on the ports');
    const u = await sh('umount /golem/input /golem/output; echo rc=$?');
    assert.match(u.stdout.toString(), /rc=0/, u.stderr.toString());
    await alive('after unmounting the volumes');
    const t0 = Date.now();
    assert.equal((await rt.client.shutdown(5000)).code, 0);
    assert.ok(Date.now() - t0 < 5000);
  });
});
