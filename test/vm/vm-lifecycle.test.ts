/**
 * VM process lifecycle under TCG: start with a virtio-fs share, the pids, teardown that leaves nothing, QEMU ending
 * by itself, a QEMU that cannot start, and a SIGKILLed runtime leaving no QEMU.
 *
 * Guests used:
 *  - no guest kernel built: a "kernel" of random bytes. QEMU starts and runs (the CPU executes garbage), which is
 *    all the process tests need;
 *  - the guest kernel (scripts/build-guest) with a busybox initramfs made here: /init mounts the virtio-fs share,
 *    writes a file into it, writes a line to the `yagent` port, and reboots (QEMU exits). Skipped without the kernel
 *    or busybox.
 * Every test checks that no process whose command line mentions its workdir survives (a registry of the
 * test's processes, checked at teardown).
 */
import assert from 'node:assert/strict';
import { execa } from 'execa';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/log.js';
import { VmStartError } from '../../src/vm/errors.js';
import { guestDir, KERNEL_FILE } from '../../src/vm/guest-files.js';
import { descendantsOf, pidAlive, waitPidsGone } from '../../src/vm/supervisor.js';
import { findVirtiofsd, type VirtiofsdSandbox } from '../../src/vm/virtiofsd.js';
import { startVm, vmExitError, type VmHandle, type VmStartConfig } from '../../src/vm/vm.js';
import { removeTestDir } from '../helpers/vm.js';
import { waitFor } from '../helpers/wait.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'vm-life-'));
after(() => removeTestDir(tmp));

const realKernel = path.join(guestDir(), KERNEL_FILE);
const haveKernel = fs.existsSync(realKernel);
const haveBusybox = fs.existsSync('/bin/busybox');
const fakeKernel = path.join(tmp, 'garbage-kernel');
fs.writeFileSync(fakeKernel, Buffer.alloc(256 * 1024, 0x90));
const vfsd = await findVirtiofsd().catch(() => undefined);

let seq = 0;
/** A workdir deeper than the socket limit, as provider workdirs are. */
async function workdir(): Promise<string> {
  const w = path.join(tmp, `w${seq++}`, 'a'.repeat(50), 'b'.repeat(50), 'activity-0123456789abcdef');
  await fsp.mkdir(path.join(w, 'vol-0'), { recursive: true });
  return w;
}

/** Live processes whose command line contains `needle`. */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function assertNothingLeft(w: string): Promise<void> {
  let left = processesMentioning(w);
  await waitFor('the processes of the VM to end', () => (left = processesMentioning(w)).length === 0, {
    timeoutMs: 5000,
    intervalMs: 50,
    detail: () => `processes outlived the VM: ${cmdlinesOf(left)}`,
  });
  assert.deepEqual(left, [], `processes outlived the VM: ${cmdlinesOf(left)}`);
}

/** The command lines of `pids`; one that ended meanwhile reads "(gone)" (a failure message must not throw). */
function cmdlinesOf(pids: number[]): string {
  return pids
    .map((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      } catch {
        return `${p} (gone)`;
      }
    })
    .join(' | ');
}

function cmdline(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

function pgrp(pid: number | 'self'): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function baseConfig(w: string, kernelPath: string): VmStartConfig {
  return { workdir: w, kernelPath, accel: 'tcg', cpus: 1, memBytes: 128 * 1024 * 1024, stopGraceMs: 2000 };
}

/** A gzip newc initramfs with static busybox and an /init script that exercises the share and the agent port. */
async function busyboxInitramfs(): Promise<string> {
  const root = path.join(tmp, 'initramfs-root');
  const out = path.join(tmp, 'initramfs.img');
  if (fs.existsSync(out)) return out;
  await fsp.mkdir(path.join(root, 'bin'), { recursive: true });
  await fsp.copyFile('/bin/busybox', path.join(root, 'bin/busybox'));
  const init = `#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /proc /sys /dev /mnt
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
if $B mount -t virtiofs vol0 /mnt; then $B echo from-guest > /mnt/hello.txt; $B cat /mnt/from-host.txt; else $B echo "YA-TEST mount failed"; fi
$B mkdir -p /mnt9
if $B mount -t 9p -o trans=virtio,version=9p2000.L nine /mnt9 2>/dev/null; then $B echo from-guest-9p > /mnt9/hello9.txt; $B umount /mnt9; fi
$B sync
for p in /sys/class/virtio-ports/*; do
  if [ "$($B cat $p/name)" = yagent ]; then $B echo "hello from $($B basename $p)" > /dev/$($B basename $p); fi
done
$B echo YA-TEST-DONE
if $B grep -q yatest.hold /proc/cmdline; then exec $B sleep 1000000; fi
$B umount /mnt
$B reboot -f
`;
  await fsp.writeFile(path.join(root, 'init'), init, { mode: 0o755 });
  await execa('sh', ['-c', `cd ${root} && find . | cpio -o -H newc --quiet | gzip -1 > ${out}`]);
  return out;
}

describe('VM lifecycle', { timeout: 120_000 }, () => {
  it(
    'starts with a virtio-fs share in use, runs QEMU and virtiofsd in our group, stops leaving nothing',
    { skip: !vfsd && 'no virtiofsd' },
    async () => {
      const w = await workdir();
      const share = path.join(w, 'vol-0');
      // With the guest kernel: a busybox guest that mounts the share, writes to it, and stays up (yatest.hold), so
      // teardown happens with the share in use. Without: the garbage kernel keeps QEMU busy.
      const real = haveKernel && haveBusybox;
      const guest = real
        ? { kernelPath: realKernel, initrdPath: await busyboxInitramfs(), cmdlineExtra: ['yatest.hold'] }
        : { kernelPath: fakeKernel };
      const vm: VmHandle = await startVm(
        { ...baseConfig(w, fakeKernel), ...guest, virtiofs: [{ tag: 'vol0', hostPath: share }] },
        createLogger({ workdir: w }),
      );
      if (real) {
        await waitFor('the guest to write into the share', () => fs.existsSync(path.join(share, 'hello.txt')), {
          timeoutMs: 30_000,
          intervalMs: 50,
          detail: async () => `console:\n${await vm.consoleTail(20)}`,
        });
        assert.ok(
          fs.existsSync(path.join(share, 'hello.txt')),
          `the guest did not write into the share; console:\n${await vm.consoleTail(20)}`,
        );
      }
      const [qemuPid, vfsPid, ...rest] = vm.pids();
      assert.ok(qemuPid !== undefined && vfsPid !== undefined && rest.length === 0, `pids: ${vm.pids().join(',')}`);
      assert.match(cmdline(qemuPid)[0] ?? '', /qemu-system-x86_64$/);
      assert.match(cmdline(vfsPid)[0] ?? '', /virtiofsd$/);
      assert.equal(pgrp(qemuPid), pgrp('self'), 'QEMU is in our process group');
      assert.equal(pgrp(vfsPid), pgrp('self'), 'virtiofsd is in our process group');
      assert.ok(vm.agent.readyState === 'open', 'connected to the agent socket');
      assert.ok(fs.statSync(path.join(w, 'run', 'agent.sock')).isSocket());
      assert.ok(fs.statSync(path.join(w, 'run', 'vfs0.sock')).isSocket());
      const chardev = cmdline(qemuPid).find((a) => a.startsWith('socket,id=agent,path=')) ?? '';
      const shortAgent = /path=([^,]+)/.exec(chardev)?.[1] ?? '';
      assert.ok(
        Buffer.byteLength(shortAgent) <= 107 && fs.realpathSync(shortAgent) === path.join(w, 'run', 'agent.sock'),
      );

      // The C virtiofsd's namespace sandbox forks a worker once QEMU connects; teardown must take it too.
      const workers = descendantsOf([vfsPid]);
      if (real && vfsd?.kind === 'c') assert.ok(workers.length >= 1, 'virtiofsd has a sandboxed worker');
      await vm.stop();
      const exit = await vm.exited;
      assert.equal(exit.stopped, true);
      assert.deepEqual(workers.filter(pidAlive), []);
      assert.ok(!pidAlive(qemuPid) && !pidAlive(vfsPid));
      assert.deepEqual(vm.pids(), []);
      await vm.stop(); // idempotent
      assert.ok(
        !fs.existsSync(path.join(w, 'run', 'agent.sock')) && !fs.existsSync(path.join(w, 'run', 'vfs0.sock')),
        'sockets removed',
      );
      assert.ok(!fs.existsSync(path.dirname(path.dirname(shortAgent))), 'short symlink removed');
      await assertNothingLeft(w);
    },
  );

  it('missing guest files are named before anything starts', async () => {
    const w = await workdir();
    await assert.rejects(
      startVm(baseConfig(w, path.join(tmp, 'no-such-kernel')), createLogger({ workdir: w })),
      (e: VmStartError) => {
        assert.equal(e.code, 'VM_FILE_MISSING');
        assert.match(e.message, /^cannot start the VM: guest kernel \S+no-such-kernel is not readable \(ENOENT\)$/);
        return true;
      },
    );
    await assertNothingLeft(w);
  });

  it('a QEMU that fails during init gives a VmStartError built from facts, and nothing is left', async () => {
    const w = await workdir();
    const cfg = {
      ...baseConfig(w, fakeKernel),
      cpus: 1000,
      ...(vfsd ? { virtiofs: [{ tag: 'vol0', hostPath: path.join(w, 'vol-0') }] } : {}),
    };
    // Either startVm sees QEMU die, or QEMU's socket accepted us first and the exit shows up right after.
    let err: VmStartError;
    try {
      const vm = await startVm(cfg, createLogger({ workdir: w }));
      err = vmExitError(await vm.exited, 'before the agent socket was ready');
      await vm.stop();
    } catch (e) {
      err = e as VmStartError;
    }
    assert.equal(err.code, 'QEMU_EXITED_EARLY');
    assert.match(
      err.message,
      /^QEMU exited with code 1 before the agent socket was ready; QEMU said: .*Invalid SMP CPUs 1000/,
    );
    await assertNothingLeft(w);
    assert.deepEqual(fs.readdirSync(path.join(w, 'run')), []);
  });

  it("a virtiofsd's <socket>.pid lock file (the Rust one keeps one) goes with the VM", async () => {
    const w = await workdir();
    // Stand-in for the Rust virtiofsd: listens on the socket and keeps `<socket>.pid` beside it until killed.
    // .cjs: CommonJS whatever package.json a parent folder of the workdir may have.
    const fake = path.join(w, 'pidfile-virtiofsd.cjs');
    await fsp.writeFile(
      fake,
      `#!${process.execPath}\nconst sock = process.argv.find((a) => a.startsWith('--socket-path=')).slice(14);\n` +
        "require('fs').writeFileSync(sock + '.pid', String(process.pid));\nrequire('net').createServer().listen(sock);\n",
      { mode: 0o755 },
    );
    const cfg = {
      ...baseConfig(w, fakeKernel),
      cpus: 1000,
      virtiofs: [{ tag: 'vol0', hostPath: path.join(w, 'vol-0') }],
      virtiofsd: { path: fake, kind: 'c' as const, version: 'fake' },
    };
    // QEMU refuses 1000 vCPUs: the start fails after virtiofsd is up, and the teardown must take its files too.
    try {
      const vm = await startVm(cfg, createLogger({ workdir: w }));
      await vm.exited;
      await vm.stop();
    } catch (e) {
      assert.equal((e as VmStartError).code, 'QEMU_EXITED_EARLY');
    }
    await assertNothingLeft(w);
    assert.deepEqual(fs.readdirSync(path.join(w, 'run')), []);
  });

  it('a share that is not a folder is named before anything starts', async () => {
    const w = await workdir();
    const cfg = {
      ...baseConfig(w, fakeKernel),
      virtiofs: [{ tag: 'vol0', hostPath: fakeKernel }],
      virtiofsd: { path: '/bin/false', kind: 'c' as const, version: 'none' },
    };
    await assert.rejects(startVm(cfg, createLogger({ workdir: w })), (e: VmStartError) => {
      assert.equal(e.code, 'VM_SHARE_NOT_A_DIRECTORY');
      assert.equal(e.message, `cannot start the VM: share vol0 ${fakeKernel} is not a directory`);
      return true;
    });
    await assertNothingLeft(w);
  });

  it('a virtiofsd that cannot start is reported with what it said', async () => {
    const w = await workdir();
    // Whichever virtiofsd this host has, each refuses different things at start: a stand-in that refuses.
    const fake = path.join(w, 'refusing-virtiofsd');
    await fsp.writeFile(fake, '#!/bin/sh\necho "virtiofsd: cannot serve this folder" >&2\nexit 3\n', { mode: 0o755 });
    const cfg = {
      ...baseConfig(w, fakeKernel),
      virtiofs: [{ tag: 'vol0', hostPath: path.join(w, 'vol-0') }],
      virtiofsd: { path: fake, kind: 'c' as const, version: 'fake' },
    };
    await assert.rejects(startVm(cfg, createLogger({ workdir: w })), (e: VmStartError) => {
      assert.equal(e.code, 'VIRTIOFSD_EXITED');
      assert.match(
        e.message,
        /^virtiofsd for share vol0 exited with code 3 before its socket appeared; it said: virtiofsd: cannot serve this folder/,
      );
      return true;
    });
    await assertNothingLeft(w);
  });

  for (const sandbox of ['namespace', 'chroot'] as VirtiofsdSandbox[]) {
    it(
      `a guest writes into the virtio-fs share (sandbox=${sandbox}) and the agent port; QEMU ends by itself and everything goes`,
      {
        skip: (!haveKernel && 'guest kernel not built') || (!haveBusybox && 'no busybox') || (!vfsd && 'no virtiofsd'),
      },
      async () => {
        const w = await workdir();
        const share = path.join(w, 'vol-0');
        await fsp.writeFile(path.join(share, 'from-host.txt'), 'YA-TEST host file seen\n');
        const vm = await startVm(
          {
            ...baseConfig(w, realKernel),
            initrdPath: await busyboxInitramfs(),
            virtiofs: [{ tag: 'vol0', hostPath: share }],
            virtiofsdSandbox: sandbox,
          },
          createLogger({ workdir: w }),
        );
        const pids = vm.pids();
        const chunks: Buffer[] = [];
        vm.agent.on('data', (d: Buffer) => chunks.push(d));
        const exit = await vm.exited;
        const console = await vm.consoleTail(20);
        assert.equal(exit.code, 0, `QEMU: ${exit.description}; console:\n${console}`);
        assert.equal(exit.stopped, false);
        assert.equal(await fsp.readFile(path.join(share, 'hello.txt'), 'utf8'), 'from-guest\n', console);
        assert.match(console, /YA-TEST host file seen/);
        assert.match(console, /YA-TEST-DONE/);
        assert.match(Buffer.concat(chunks).toString(), /^hello from vport\d+p\d+\n/);
        await vm.stop();
        assert.deepEqual(await waitPidsGone(pids, 3000), []);
        await assertNothingLeft(w);
      },
    );
  }

  it(
    'a guest writes into a 9p share',
    { skip: (!haveKernel && 'guest kernel not built') || (!haveBusybox && 'no busybox') },
    async () => {
      const w = await workdir();
      const share = path.join(w, 'vol-0');
      const vm = await startVm(
        {
          ...baseConfig(w, realKernel),
          initrdPath: await busyboxInitramfs(),
          ninep: [{ tag: 'nine', hostPath: share }],
        },
        createLogger({ workdir: w }),
      );
      const exit = await vm.exited;
      assert.equal(exit.code, 0);
      assert.equal(
        await fsp.readFile(path.join(share, 'hello9.txt'), 'utf8'),
        'from-guest-9p\n',
        await vm.consoleTail(20),
      );
      await vm.stop();
      await assertNothingLeft(w);
    },
  );

  it(
    'a guest kernel panic makes QEMU exit (panic=-1, -no-reboot)',
    { skip: !haveKernel && 'guest kernel not built' },
    async () => {
      const w = await workdir();
      const t0 = Date.now();
      const vm = await startVm(baseConfig(w, realKernel), createLogger({ workdir: w }));
      const exit = await vm.exited;
      assert.equal(exit.code, 0);
      assert.match(await vm.consoleTail(5), /Kernel panic/);
      // The exit names the crash by the console's first panic line, not by how QEMU ended.
      assert.match(exit.guestCrash ?? '', /^Kernel panic - not syncing: /);
      assert.equal(exit.description, `guest kernel panic: ${exit.guestCrash}`);
      assert.ok(Date.now() - t0 < 30_000);
      await vm.stop();
      await assertNothingLeft(w);
      await fsp.rm(w, { recursive: true, force: true }); // this crash was wanted: not for the after-all console scan
    },
  );

  it('QEMU and virtiofsd die with a SIGKILLed runtime', async () => {
    const w = await workdir();
    const script = path.join(tmp, 'runtime.mjs');
    const mod = (f: string): string => JSON.stringify(path.resolve(HERE, '../../src', f));
    const shares = vfsd ? `[{ tag: 'vol0', hostPath: ${JSON.stringify(path.join(w, 'vol-0'))} }]` : '[]';
    await fsp.writeFile(
      script,
      `import { startVm } from ${mod('vm/vm.js')};
import { createLogger } from ${mod('log.js')};
const vm = await startVm({ workdir: ${JSON.stringify(w)}, kernelPath: ${JSON.stringify(fakeKernel)}, accel: 'tcg', cpus: 1, memBytes: 128 << 20, virtiofs: ${shares} }, createLogger({ workdir: ${JSON.stringify(w)} }));
process.stdout.write(JSON.stringify(vm.pids()) + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const runtime = execa('node', [script], { reject: false, buffer: false, stderr: 'inherit' });
    const line = await new Promise<string>((resolve, reject) => {
      runtime.stdout.once('data', (d: Buffer) => resolve(d.toString()));
      void runtime.then((r) => reject(new Error(`runtime ended early: ${r.exitCode}`)));
    });
    const pids = JSON.parse(line) as number[];
    assert.equal(pids.length, vfsd ? 2 : 1);
    assert.ok(pids.every(pidAlive));
    runtime.kill('SIGKILL');
    await runtime;
    assert.deepEqual(await waitPidsGone(pids, 5000), [], 'QEMU/virtiofsd outlived the SIGKILLed runtime');
    await assertNothingLeft(w);
  });
});
