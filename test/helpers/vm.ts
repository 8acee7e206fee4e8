/**
 * VM test helpers: test images (built by scripts/make-test-image), deploy into a fresh workdir, boot an Activity
 * in this process, run commands and collect their output, and a process registry check: after teardown no QEMU or
 * virtiofsd whose command line names the workdir may still be alive (cloud-hypervisor's ProcessRegistry idea).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import { Activity, type ActivityOptions } from '../../src/activity.js';
import { readDeployment } from '../../src/deployment/store.js';
import type { Deployment } from '../../src/deployment/deployment.js';
import type { ExecSpec, ExitStatus } from '../../src/activity-api.js';
import { silentLogger, createLogger } from '../../src/log.js';
import { REPO_ROOT } from './paths.js';
import { runCli } from './cli.js';

export function testImage(variant: 'root' | 'user' = 'root'): string {
  const args = ['scripts/make-test-image', '--print-path', ...(variant === 'user' ? ['--user'] : [])];
  const p = execaSync('bash', args, { cwd: REPO_ROOT }).stdout.trim();
  if (!fs.existsSync(p)) throw new Error(`test image ${p} missing: run scripts/prepare`);
  return p;
}

/** A workdir as long as a provider's (<data>/exe-unit/work/<64 hex>/<32 hex>), so socket-path limits are exercised. */
export async function longWorkdir(): Promise<{ workdir: string; base: string }> {
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'yrvm-vmtest-'));
  const workdir = path.join(base, 'provider', 'exe-unit', 'work', 'c'.repeat(64), 'd'.repeat(32));
  await fsp.mkdir(workdir, { recursive: true });
  return { workdir, base };
}

export async function deployTo(workdir: string, image: string, globals: string[] = []): Promise<Deployment> {
  const r = await runCli(['--workdir', workdir, '--task-package', image, ...globals, 'deploy', '--'], { cwd: workdir });
  if (r.code !== 0) throw new Error(`deploy failed: ${r.stderr}`);
  return readDeployment(workdir);
}

export interface TestVm {
  activity: Activity;
  workdir: string;
  deployment: Deployment;
  /**
   * Shuts down, asserts nothing outlived it, removes the workdir; fails if the guest console shows a kernel crash,
   * unless the test crashed the guest on purpose (`expectCrash`).
   */
  dispose(opts?: { expectCrash?: boolean }): Promise<void>;
}

export async function bootTestVm(
  opts: { image?: string; globals?: string[]; boot?: Partial<ActivityOptions> } = {},
): Promise<TestVm> {
  const { workdir, base } = await longWorkdir();
  const deployment = await deployTo(
    workdir,
    opts.image ?? testImage(),
    opts.globals ?? ['--mem-gib', '0.5', '--storage-gib', '1'],
  );
  const log = process.env['YA_TEST_LOG'] ? createLogger({ workdir }) : silentLogger();
  const activity = await Activity.boot({ deployment, workdir, log, accel: 'auto', ...opts.boot });
  return {
    activity,
    workdir,
    deployment,
    async dispose({ expectCrash = false } = {}) {
      await activity.shutdown();
      const left = await waitNoneAlive(workdir, 5000);
      if (expectCrash) await fsp.rm(base, { recursive: true, force: true });
      else await removeTestDir(base);
      if (left.length) throw new Error(`processes outlived teardown: ${left.join('; ')}`);
    },
  };
}

export interface RunResult extends ExitStatus {
  stdout: Buffer;
  stderr: Buffer;
}

export async function run(activity: Activity, argv: string[], extra: Partial<ExecSpec> = {}): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const proc = await activity.exec(
    { bin: argv[0]!, argv, ...extra },
    { stdout: async (c) => void out.push(Buffer.from(c)), stderr: async (c) => void err.push(Buffer.from(c)) },
  );
  const status = await proc.exit;
  return { ...status, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

export const sh = (activity: Activity, script: string, extra: Partial<ExecSpec> = {}): Promise<RunResult> =>
  run(activity, ['/bin/sh', '-c', script], extra);

/** Live (non-zombie) QEMU / virtiofsd processes whose command line mentions `needle`. */
export function liveVmProcesses(needle: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmd && /qemu-system|virtiofsd/.test(cmd) && cmd.includes(needle)) found.push(`${pid}: ${cmd.slice(0, 120)}`);
  }
  return found;
}

export async function waitNoneAlive(needle: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = liveVmProcesses(needle);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Asserts that the VM of `workdir` was ended by its guest powering off, not killed: QEMU logs "terminating on
 * signal N" when a signal ends it. The one accepted case is the runtime's own fallback, which it logs.
 */
export async function assertOrderlyShutdown(workdir: string): Promise<void> {
  const qemuLog = await fsp.readFile(path.join(workdir, 'logs', 'qemu.log'), 'utf8').catch(() => '');
  if (!/terminating on signal/.test(qemuLog)) return;
  const runtimeLog = await fsp.readFile(path.join(workdir, 'logs', 'runtime.log'), 'utf8').catch(() => '');
  assert.match(
    runtimeLog,
    /guest did not end the VM in time/,
    `QEMU was killed instead of the guest powering off: ${qemuLog.trim()}`,
  );
}

/** A line of a guest kernel oops or panic report (what the issue of a crashing PID 1 showed). */
export const GUEST_CRASH_LINE = /^.*(?:BUG:|Oops|Kernel panic).*$/m;

/** The first crash line of every console.log under `dir` (walked recursively), as "<file>: <line>". */
export async function guestCrashes(dir: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await fsp.readdir(dir, { recursive: true }).catch(() => [] as string[]);
  for (const rel of entries) {
    if (path.basename(rel) !== 'console.log') continue;
    const text = await fsp.readFile(path.join(dir, rel), 'utf8').catch(() => '');
    const m = GUEST_CRASH_LINE.exec(text);
    if (m) found.push(`${rel}: ${m[0].trim()}`);
  }
  return found;
}

/**
 * Removes a test's folder after checking every guest console in it: any oops or panic fails the test, with the
 * console kept as `<tmp>/yrvm-crash-<time>.log` for the chase. Tests that crash a guest on purpose remove their
 * folder themselves.
 */
export async function removeTestDir(dir: string): Promise<void> {
  let crashes: string[];
  try {
    crashes = await guestCrashes(dir);
    if (crashes.length > 0) {
      const kept = path.join(os.tmpdir(), `yrvm-crash-${Date.now()}.log`);
      const first = crashes[0]!.slice(0, crashes[0]!.indexOf(': '));
      await fsp.copyFile(path.join(dir, first), kept).catch(() => undefined);
      crashes.push(`console kept as ${kept}`);
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
  if (crashes.length > 0) throw new Error(`the guest kernel crashed: ${crashes.join('; ')}`);
}
