/** Faults and operator paths: corrupt image, QEMU dying mid-command, `test`, `run` ephemeral and attached. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Activity } from '../../src/activity.js';
import { gvmiTrailer } from '../../src/image/gvmi-writer.js';
import { silentLogger } from '../../src/log.js';
import {
  bootTestVm,
  deployTo,
  longWorkdir,
  removeTestDir,
  sh,
  testImage,
  waitNoneAlive,
  liveVmProcesses,
} from '../helpers/vm.js';
import { runCli } from '../helpers/cli.js';
import { ExeUnitClient } from '../helpers/exeunit-client.js';

test('a corrupted image (valid trailer, garbage squashfs) gives a clear boot error, not a hang', async () => {
  const { workdir, base } = await longWorkdir();
  try {
    const img = path.join(base, 'corrupt.gvmi');
    await fs.writeFile(
      img,
      Buffer.concat([Buffer.from('hsqs'), randomBytes(256 * 1024 - 4), gvmiTrailer({ Cmd: ['/bin/sh'] })]),
    );
    const d = await deployTo(workdir, img);
    const started = Date.now();
    await assert.rejects(Activity.boot({ deployment: d, workdir, log: silentLogger() }), (err: Error) => {
      assert.match(err.message, /cannot set up the guest filesystem/);
      assert.match(err.message, /squashfs/i);
      return true;
    });
    assert.ok(Date.now() - started < 60_000);
    assert.deepEqual(await waitNoneAlive(workdir, 5000), []);
  } finally {
    await removeTestDir(base);
  }
});

test('QEMU killed mid-command: the command ends with an error, nothing hangs, nothing is left', async () => {
  const vm = await bootTestVm();
  try {
    const proc = await vm.activity.exec(
      { bin: 'sleep', argv: ['sleep', '1000'] },
      { stdout: async () => {}, stderr: async () => {} },
    );
    const qemu = liveVmProcesses(vm.workdir).find((l) => l.includes('qemu-system'));
    assert.ok(qemu, 'QEMU is running');
    process.kill(Number(qemu.split(':')[0]), 'SIGKILL');
    await assert.rejects(proc.exit, /./);
    await assert.rejects(
      vm.activity.exec({ bin: 'true', argv: ['true'] }, { stdout: async () => {}, stderr: async () => {} }),
    );
    assert.deepEqual(await waitNoneAlive(vm.workdir, 5000), [], 'virtiofsd stopped after QEMU died');
  } finally {
    await vm.dispose();
  }
});

test('`test` self-check prints {} and exits 0 here', async () => {
  const r = await runCli(['test'], { timeoutMs: 200_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '{}');
  assert.match(r.stderr, /accelerator: (tcg|kvm)/);
});

test("`run` with no live start boots an ephemeral VM; exit code is the process's; 127 for a missing binary", async () => {
  const img = testImage();
  const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-cwd-'));
  const ok = await runCli(
    ['--task-package', img, 'run', '--', '/bin/sh', '-c', 'echo from-vm; cat /etc/test-image >/dev/null; exit 5'],
    { cwd },
  );
  assert.equal(ok.code, 5, ok.stderr);
  assert.equal(ok.stdout, 'from-vm\n');
  // Regression: without --workdir the ephemeral VM's deployment went into the current folder.
  assert.deepEqual(await fs.readdir(cwd), [], 'nothing left in the current folder');
  await fs.rm(cwd, { recursive: true });
  const missing = await runCli(['--task-package', img, 'run', '--entrypoint', '/no/such', '--', 'a']);
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /\/no\/such: not found/);
});

test('`run` attaches to a live start through the control socket', async () => {
  const { workdir, base } = await longWorkdir();
  const img = testImage();
  await deployTo(workdir, img);
  const client = ExeUnitClient.spawn({ workdir, globalArgs: ['--workdir', workdir, '--task-package', img] });
  try {
    await client.hello();
    await client.run('/bin/sh', ['-c', 'echo shared-state > /root/s']);
    const r = await runCli(['--workdir', workdir, 'run', '--', '/bin/sh', '-c', 'cat /root/s; echo err >&2; exit 4'], {
      cwd: workdir,
    });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, 'shared-state\n');
    assert.equal(r.stderr, 'err\n');
    await client.shutdown(10_000);
  } finally {
    await client.dispose();
    assert.deepEqual(await waitNoneAlive(workdir, 5000), []);
    await removeTestDir(base);
  }
});

test('operator mode state: status over the shutdown path leaves no sockets', async () => {
  const vm = await bootTestVm();
  assert.equal((await sh(vm.activity, 'echo hi')).stdout.toString(), 'hi\n');
  await vm.activity.shutdown();
  const run = await fs.readdir(path.join(vm.workdir, 'run')).catch(() => []);
  assert.deepEqual(
    run.filter((f) => f.endsWith('.sock')),
    [],
  );
  await vm.dispose();
});

test('virtiofsd dying mid-command: the command ends with an error naming it, nothing hangs, nothing is left', async () => {
  const vm = await bootTestVm();
  try {
    const proc = await vm.activity.exec(
      { bin: '/bin/sh', argv: ['/bin/sh', '-c', 'while true; do ls /golem/input > /dev/null; sleep 0.1; done'] },
      { stdout: async () => {}, stderr: async () => {} },
    );
    for (const l of liveVmProcesses(vm.workdir).filter((x) => x.includes('virtiofsd')))
      process.kill(Number(l.split(':')[0]), 'SIGKILL');
    await assert.rejects(proc.exit, /virtiofsd-\d .*while the VM ran, so the VM was stopped/);
    await assert.rejects(
      vm.activity.exec({ bin: 'true', argv: ['true'] }, { stdout: async () => {}, stderr: async () => {} }),
      /stopped/,
    );
    assert.deepEqual(await waitNoneAlive(vm.workdir, 5000), []);
  } finally {
    await vm.dispose();
  }
});

test('the boot signal only cancels a boot: aborted after the boot, it leaves the VM running for an orderly shutdown', async () => {
  // The service aborts its boot signal whenever it ends (Shutdown, stdin EOF), also long after the boot. That once
  // SIGTERMed QEMU under the guest's own shutdown, so the guest never synced and SHUTDOWN's reply was lost.
  const boot = new AbortController();
  const vm = await bootTestVm({ boot: { signal: boot.signal } });
  try {
    boot.abort();
    await new Promise((r) => setTimeout(r, 300));
    const r = await sh(vm.activity, 'echo still running');
    assert.equal(r.stdout.toString(), 'still running\n');
    await vm.activity.shutdown();
    const qemuLog = await fs.readFile(path.join(vm.workdir, 'logs', 'qemu.log'), 'utf8');
    assert.doesNotMatch(qemuLog, /terminating on signal/, 'the guest powered off by itself');
  } finally {
    await vm.dispose();
  }
});
