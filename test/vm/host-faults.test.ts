/**
 * Host faults (docs/reliability.md, "Hostile requestors and host faults"): the host filesystem under the workdir
 * full during deploy and while the VM runs (a small tmpfs mounted by the test, as root), QEMU SIGSTOPped (a hung
 * VM), and stdin closed in the middle of a frame. In each case the runtime answers or ends with a clear error within
 * the ExeUnit's bounds, and nothing is left running.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { ExeUnitClient } from '../helpers/exeunit-client.js';
import { runCli } from '../helpers/cli.js';
import { deployTo, liveVmProcesses, removeTestDir, testImage, waitNoneAlive } from '../helpers/vm.js';
import { setTimeout as delay } from 'node:timers/promises';

const ROOT = process.getuid?.() === 0;

/** A folder on a tmpfs of `size` (so its filesystem can be filled), unmounted and removed by `dispose`. */
async function smallDisk(size: string): Promise<{ dir: string; dispose(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-small-disk-'));
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return {
    dir,
    dispose: async () => {
      await execa('umount', ['-l', dir]).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

test(
  'deploy onto a full disk fails with one clear line and leaves no deployment',
  { skip: !ROOT && 'needs root (mounts a tmpfs)' },
  async () => {
    const disk = await smallDisk('256k');
    try {
      const workdir = path.join(disk.dir, 'activity');
      await fs.mkdir(workdir);
      const r = await runCli(['--workdir', workdir, '--task-package', testImage(), 'deploy', '--'], { cwd: workdir });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /No space left on device|ENOSPC/, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      await assert.rejects(fs.stat(path.join(workdir, 'deployment.json')));
    } finally {
      await disk.dispose();
    }
  },
);

test(
  'the host disk filling up while the VM runs: the guest gets ENOSPC/EIO and the activity keeps serving',
  { skip: !ROOT && 'needs root (mounts a tmpfs)' },
  async () => {
    const disk = await smallDisk('96m');
    const workdir = path.join(disk.dir, 'activity');
    await fs.mkdir(workdir);
    const globals = [
      '--workdir',
      workdir,
      '--task-package',
      testImage(),
      '--cpu-cores',
      '1',
      '--mem-gib',
      '0.5',
      '--storage-gib',
      '1',
    ];
    let client: ExeUnitClient | undefined;
    try {
      await deployTo(workdir, testImage(), globals.slice(4));
      client = ExeUnitClient.spawn({ workdir, globalArgs: globals });
      await client.hello();
      // The host volume: its folder sits on the full filesystem.
      const vol = await client.run('/bin/sh', ['-c', 'dd if=/dev/zero of=/golem/output/fill bs=1M 2>&1; echo rc=$?']);
      assert.match(vol.stdout.toString(), /No space left on device[\s\S]*rc=1/, vol.stdout.toString());
      // The root disk: a sparse image that cannot grow any more; QEMU reports the error to the guest.
      const root = await client.run('/bin/sh', [
        '-c',
        'dd if=/dev/zero of=/fill bs=1M count=200 conv=fsync 2>&1; echo rc=$?',
      ]);
      assert.match(root.stdout.toString(), /rc=1/, root.stdout.toString());
      const echo = await client.run('/bin/echo', ['still-serving']);
      assert.equal(echo.stdout.toString(), 'still-serving\n');
      const t0 = Date.now();
      await client.shutdown(5000);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await client?.dispose();
      const left = await waitNoneAlive(workdir, 5000);
      await disk.dispose();
      assert.deepEqual(left, []);
    }
  },
);

test('QEMU SIGSTOPped: KillProcess and Shutdown return within 5 s, and Shutdown ends the VM', async () => {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-hung-'));
  const workdir = path.join(base, 'w');
  await fs.mkdir(workdir);
  await deployTo(workdir, testImage());
  const client = ExeUnitClient.spawn({ workdir, globalArgs: ['--workdir', workdir, '--task-package', testImage()] });
  let qemuPid = 0;
  try {
    await client.hello();
    const sleeper = await client.start('/bin/sleep', ['600']);
    const qemu = liveVmProcesses(workdir).find((l) => l.includes('qemu-system'));
    assert.ok(qemu, 'QEMU runs');
    qemuPid = Number(qemu.split(':')[0]);
    process.kill(qemuPid, 'SIGSTOP');
    let t0 = Date.now();
    await client.kill(sleeper.pid, 9).catch(() => undefined); // an Error reply is an answer too
    assert.ok(Date.now() - t0 < 5500, `KillProcess took ${Date.now() - t0} ms`);
    t0 = Date.now();
    await client.shutdown(6000);
    assert.ok(Date.now() - t0 < 6000, `Shutdown took ${Date.now() - t0} ms`);
    assert.deepEqual(await waitNoneAlive(workdir, 5000), [], 'the hung QEMU was ended');
  } finally {
    if (qemuPid) {
      try {
        process.kill(qemuPid, 'SIGCONT'); // only if a failed check left it stopped
      } catch {
        // gone, as it should be
      }
    }
    await client.dispose();
    await removeTestDir(base);
  }
});

test('stdin closed in the middle of a frame: the runtime ends cleanly and leaves nothing', async () => {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-cut-'));
  const workdir = path.join(base, 'w');
  await fs.mkdir(workdir);
  try {
    await deployTo(workdir, testImage());
    const client = ExeUnitClient.spawn({ workdir, globalArgs: ['--workdir', workdir, '--task-package', testImage()] });
    await client.hello();
    // A length prefix promising 200 bytes, then 3 of them, then EOF.
    client.sendRaw(Uint8Array.of(0xc8, 0x01, 0x0a, 0x02, 0x08));
    client.closeStdin();
    const exit = await Promise.race([client.exited, delay(10_000).then(() => undefined)]);
    assert.notEqual(exit, undefined, 'the runtime exited within 10 s');
    assert.deepEqual(await waitNoneAlive(workdir, 5000), []);
  } finally {
    await removeTestDir(base);
  }
});
