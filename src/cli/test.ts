/**
 * `test`: the provider's start-up self-check. Packs a tiny image from the host's static busybox, deploys it with a
 * host volume, boots it, runs a command that writes into the volume, checks the host sees the file, shuts down.
 * Prints `{}` and exits 0 on success; otherwise one line on stderr and a non-zero exit. Bounded in time (never
 * hangs, even where /dev/kvm exists but cannot run guests: the accelerator probe is bounded too).
 */
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from './context.js';
import { bootActivity } from './boot.js';
import { deploy } from '../deployment/deploy.js';
import { gibToBytes } from '../deployment/sizes.js';
import { pack } from '../image/pack.js';
import { errorChain } from '../errors.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { Activity } from '../activity.js';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const LIMIT_MS = 180_000;

export async function testCommand(ctx: Context): Promise<number> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-test-'));
  let activity: Activity | undefined;
  const timer = setTimeout(() => {
    process.stderr.write(`ya-runtime-vm test: self-check did not finish within ${LIMIT_MS / 1000} s\n`);
    void (activity?.shutdown() ?? Promise.resolve()).finally(() => {
      fsSync.rmSync(dir, { recursive: true, force: true });
      process.exit(EXIT.VM);
    });
  }, LIMIT_MS);
  try {
    const image = await selfTestImage(dir);
    const workdir = path.join(dir, 'work');
    const d = await deploy({
      workdir,
      imagePath: image,
      cpuCores: ctx.globals.cpuCores,
      memBytes: gibToBytes(ctx.globals.memGib ?? 0.25),
      storageBytes: gibToBytes(0.0625),
      hostname: ctx.globals.hostname,
      overrides: new Map([['/out', { kind: 'host' }]]),
      log: ctx.log,
    });
    activity = await bootActivity(ctx, d, workdir);
    const token = `selftest-${process.pid}-${Date.now()}`;
    const proc = await activity.exec(
      { bin: '/bin/busybox', argv: ['sh', '-c', `echo ${token} > /out/selftest && sync`] },
      { stdout: async () => {}, stderr: async () => {} },
    );
    const exit = await proc.exit;
    if (exit.code !== 0) throw new CliError('SELFTEST_FAILED', `the self-test command exited with code ${exit.code}`);
    const vol = d.volumes.find((v) => v.kind === 'host');
    const seen =
      vol && vol.kind === 'host' ? await fs.readFile(path.join(vol.hostPath, 'selftest'), 'utf8').catch(() => '') : '';
    if (seen.trim() !== token)
      throw new CliError('SELFTEST_FAILED', 'the file written by the guest into the volume is not visible on the host');
    const { accel, transport, guestFiles } = activity;
    await activity.shutdown();
    // A guest folder passed over (a stale cache, say) is worth seeing: it is why another one was used.
    const skipped = guestFiles.tried.filter((t) => t.dir !== guestFiles.dir && t.reason !== 'no guest there');
    const passedOver = skipped.length
      ? `; passed over: ${skipped.map((t) => `${t.dir} (${t.reason})`).join(', ')}`
      : '';
    process.stderr.write(
      `ya-runtime-vm test: ok (accelerator: ${accel.accel}; ${accel.reason}; volumes: ${transport}; guest: ${guestFiles.dir}${passedOver})\n`,
    );
    process.stdout.write('{}\n');
    return EXIT.OK;
  } catch (err) {
    await activity?.shutdown().catch(() => undefined);
    throw new CliError('SELFTEST_FAILED', `this host cannot run VMs: ${errorChain(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function selfTestImage(dir: string): Promise<string> {
  let busybox: string | undefined;
  for (const c of BUSYBOX_CANDIDATES)
    if (
      await fs.access(c).then(
        () => true,
        () => false,
      )
    )
      busybox = c;
  if (!busybox) throw new CliError('SELFTEST_NO_BUSYBOX', 'no static busybox on this host (install busybox-static)');
  const root = path.join(dir, 'rootfs');
  await fs.mkdir(path.join(root, 'bin'), { recursive: true });
  await fs.copyFile(busybox, path.join(root, 'bin', 'busybox'));
  await fs.symlink('busybox', path.join(root, 'bin', 'sh'));
  for (const d of ['etc', 'out', 'tmp', 'proc', 'sys', 'dev']) await fs.mkdir(path.join(root, d), { recursive: true });
  const out = path.join(dir, 'selftest.gvmi');
  await pack({ source: root, output: out, env: ['PATH=/bin'], volumes: ['/out'], compression: 'gzip' });
  return out;
}
