/**
 * Choosing the accelerator: KVM only when it really works, else TCG with a loud warning (docs/operator-guide.md, Accelerator).
 *
 * "Really works" is three facts, checked in order and each only if the previous one passed:
 *  1. /dev/kvm opens read-write;
 *  2. it is not backed by `kvm_pvm` (/sys/module/kvm_pvm, or a `kvm_pvm` line in /proc/modules): there ordinary
 *     guest kernels hang at boot with no output;
 *  3. a bounded boot probe succeeds: QEMU boots the guest kernel alone under KVM (no initramfs, no root disk, so
 *     the kernel panics "VFS: Unable to mount root fs"; `panic=-1` + `-no-reboot` then make QEMU exit). Success =
 *     QEMU exits by itself within the bound and the console shows the panic (the kernel ran). A hang = unusable.
 * The probe's result is cached for an hour in `<cacheDir>/probes/accel-<key hash>.json` (probe-cache.ts), keyed by the
 * runtime version and the stamps (one stat each, no hashing) of the guest kernel and the QEMU binary: a new QEMU, a
 * rebuilt guest or another runtime version probes again.
 *
 * `decideAccel` is the pure decision from those facts; `probeAccel` gathers them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { findSetpriv } from './supervisor.js';
import type { Logger } from '../log.js';
import { AccelError } from './errors.js';
import { buildQemuArgs, type Accel } from './qemu-args.js';
import { findExecutable } from './files.js';
import { fileStamp, probeCacheFile, readProbeCache, writeProbeCache, type ProbeKey } from './probe-cache.js';
import { VERSION } from '../version.js';

export type AccelRequest = 'auto' | 'kvm' | 'tcg';

/** A check's outcome: ok, or not with the reason in words. */
export type Check = { ok: true } | { ok: false; reason: string };

export interface AccelFacts {
  kvmDevice: Check;
  /** ok = not paravirtual (kvm_pvm not loaded). */
  notPvm?: Check;
  /** The boot probe under KVM. */
  bootProbe?: Check;
}

export interface AccelDecision {
  accel: Accel;
  /** Why this accelerator, in words (logged, shown by `test`). */
  reason: string;
  /** Set when KVM was wanted (auto) but is not usable: the CLI prints it. */
  warning?: string;
}

/** The first failed check, in probe order, or undefined when KVM is usable. Missing facts count as not checked. */
function kvmProblem(f: AccelFacts): string | undefined {
  if (!f.kvmDevice.ok) return f.kvmDevice.reason;
  if (!f.notPvm) return 'the paravirtual-KVM check did not run';
  if (!f.notPvm.ok) return f.notPvm.reason;
  if (!f.bootProbe) return 'the KVM boot probe did not run';
  if (!f.bootProbe.ok) return f.bootProbe.reason;
  return undefined;
}

/** Pure: the accelerator for a request given the facts. Throws AccelError for `kvm` without a usable KVM. */
export function decideAccel(requested: AccelRequest, facts: AccelFacts | undefined): AccelDecision {
  if (requested === 'tcg') return { accel: 'tcg', reason: 'TCG requested (--accel tcg)' };
  if (!facts) throw new TypeError('KVM facts are needed unless TCG is requested');
  const problem = kvmProblem(facts);
  if (problem === undefined)
    return { accel: 'kvm', reason: 'KVM works (device opens, not paravirtual, guest kernel boots)' };
  if (requested === 'kvm') {
    throw new AccelError('KVM_UNUSABLE', `KVM was requested (--accel kvm) but cannot be used: ${problem}`, {
      reply: 'bad-request',
    });
  }
  const warning = `KVM is not usable (${problem}); falling back to TCG software emulation: the VM will run many times slower`;
  return { accel: 'tcg', reason: `KVM not usable: ${problem}`, warning };
}

// ---- the facts -----------------------------------------------------------------------------------------------

export async function checkKvmDevice(dev = '/dev/kvm'): Promise<Check> {
  try {
    const fh = await fs.open(dev, 'r+');
    await fh.close();
    return { ok: true };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { ok: false, reason: `${dev} does not exist` };
    return { ok: false, reason: `${dev} cannot be opened read-write: ${e.code ?? e.message}` };
  }
}

/** ok when kvm_pvm is not loaded. `root` lets tests point at a fake /sys and /proc. */
export async function checkNotPvm(root = '/'): Promise<Check> {
  const bad: Check = {
    ok: false,
    reason: '/dev/kvm is backed by kvm_pvm (paravirtual KVM), which cannot run ordinary guests',
  };
  try {
    await fs.access(path.join(root, 'sys/module/kvm_pvm'));
    return bad;
  } catch {
    // not in /sys/module: look at /proc/modules too
  }
  try {
    const mods = await fs.readFile(path.join(root, 'proc/modules'), 'utf8');
    if (/^kvm_pvm\s/m.test(mods)) return bad;
  } catch {
    // no /proc/modules (no module support): nothing loaded
  }
  return { ok: true };
}

export interface BootProbeOptions {
  kernelPath: string;
  accel: Accel;
  /** Bound on the whole boot; a guest that has not ended by then counts as hung. Default 10 s. */
  timeoutMs?: number;
  qemuBinary?: string;
}

/**
 * Boots the kernel with no initramfs and no disk: a working kernel panics at once ("VFS: Unable to mount root fs")
 * and QEMU exits. Exported so tests can run it under TCG.
 */
export async function bootProbe(o: BootProbeOptions): Promise<Check> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const args = buildQemuArgs({ accel: o.accel, cpus: 1, memBytes: 64 * 1024 * 1024, kernelPath: o.kernelPath });
  // The console to our stdout instead of nowhere: the panic line proves the kernel ran. Drop `quiet`: not needed,
  // panics print anyway, but a missing line is easier to debug with the boot log.
  const serial = args.indexOf('-serial');
  args[serial + 1] = 'stdio';
  const started = Date.now();
  // Under setpriv --pdeathsig like every QEMU we start: a probe that hangs must not outlive a SIGKILLed runtime.
  const { execa } = await import('execa'); // loaded only when the probe runs (its result is cached)
  const r = await execa(findSetpriv(), ['--pdeathsig', 'KILL', '--', o.qemuBinary ?? 'qemu-system-x86_64', ...args], {
    reject: false,
    timeout: timeoutMs,
    forceKillAfterDelay: 1000,
    stdin: 'ignore',
    all: true,
    maxBuffer: 1024 * 1024,
    cleanup: true,
  });
  const ms = Date.now() - started;
  const out = r.all ?? '';
  if (r.timedOut)
    return {
      ok: false,
      reason: `a ${o.accel.toUpperCase()} test boot did not finish within ${timeoutMs} ms (the guest hangs)`,
    };
  if (/Kernel panic|Unable to mount root|reboot: Restarting/i.test(out)) return { ok: true };
  const last = out.trim().split('\n').pop() ?? '';
  return {
    ok: false,
    reason: `a ${o.accel.toUpperCase()} test boot ended after ${ms} ms without reaching the kernel (QEMU exit code ${r.exitCode ?? r.signal ?? '?'}${last ? `: ${last}` : ''})`,
  };
}

// ---- the cache -----------------------------------------------------------------------------------------------

const CACHE_TTL_MS = 60 * 60 * 1000;

function isFacts(v: unknown): v is AccelFacts {
  if (v === null || typeof v !== 'object') return false;
  const f = v as Partial<AccelFacts>;
  return typeof f.kvmDevice?.ok === 'boolean' && (f.bootProbe === undefined || typeof f.bootProbe.ok === 'boolean');
}

/** What a cached probe depends on: the runtime version, the guest kernel, the QEMU binary (as PATH finds it). */
export async function accelProbeKey(o: {
  kernelPath: string;
  qemuBinary?: string;
  runtimeVersion?: string;
}): Promise<ProbeKey> {
  const qemu = o.qemuBinary ?? 'qemu-system-x86_64';
  const qemuPath = qemu.includes('/') ? qemu : (findExecutable(qemu) ?? qemu);
  const [kernel, qemuStamp] = await Promise.all([fileStamp(o.kernelPath), fileStamp(qemuPath)]);
  return {
    runtime: o.runtimeVersion ?? VERSION,
    kernel: `${path.resolve(o.kernelPath)}@${kernel}`,
    qemu: `${qemuPath}@${qemuStamp}`,
  };
}

// ---- the edge ------------------------------------------------------------------------------------------------

export interface ProbeAccelOptions {
  kernelPath: string;
  /** Where the probe result is cached; omit to never cache. */
  cacheDir?: string;
  log: Logger;
  qemuBinary?: string;
  bootTimeoutMs?: number;
  /** Injection points for tests; default to the real checks above. */
  checks?: {
    kvmDevice?: () => Promise<Check>;
    notPvm?: () => Promise<Check>;
    bootProbe?: () => Promise<Check>;
  };
  now?: () => number;
  /** The runtime version in the cache key (default: this runtime's); tests change it. */
  runtimeVersion?: string;
}

/** Gathers the facts (each check only if the previous one passed; device check never cached) and decides. */
export async function gatherAccelFacts(o: ProbeAccelOptions): Promise<AccelFacts> {
  const kvmDevice = await (o.checks?.kvmDevice ?? (() => checkKvmDevice()))();
  if (!kvmDevice.ok) return { kvmDevice };
  const notPvm = await (o.checks?.notPvm ?? (() => checkNotPvm()))();
  if (!notPvm.ok) return { kvmDevice, notPvm };

  const now = (o.now ?? Date.now)();
  let cacheFile: string | undefined;
  let key: ProbeKey | undefined;
  if (o.cacheDir) {
    key = await accelProbeKey(o);
    cacheFile = probeCacheFile(o.cacheDir, 'accel', key);
    const cached = await readProbeCache(cacheFile, key, { now, ttlMs: CACHE_TTL_MS, valid: isFacts });
    if (cached?.bootProbe) {
      o.log.debug({ cacheFile }, 'KVM boot probe: cached result');
      return { kvmDevice, notPvm, bootProbe: cached.bootProbe };
    }
  }
  const probe =
    o.checks?.bootProbe ??
    (() =>
      bootProbe({
        kernelPath: o.kernelPath,
        accel: 'kvm',
        ...(o.bootTimeoutMs ? { timeoutMs: o.bootTimeoutMs } : {}),
        ...(o.qemuBinary ? { qemuBinary: o.qemuBinary } : {}),
      }));
  const boot = await probe();
  const facts: AccelFacts = { kvmDevice, notPvm, bootProbe: boot };
  if (cacheFile && key) {
    await writeProbeCache(cacheFile, key, facts, now).catch((err: unknown) =>
      o.log.warn({ err, cacheFile }, 'cannot cache the KVM probe result'),
    );
  }
  return facts;
}

export async function probeAccel(requested: AccelRequest, o: ProbeAccelOptions): Promise<AccelDecision> {
  if (requested === 'tcg') return decideAccel('tcg', undefined);
  const facts = await gatherAccelFacts(o);
  const d = decideAccel(requested, facts);
  if (d.warning) o.log.warn({ requested, facts }, d.warning);
  else o.log.info({ requested, accel: d.accel }, d.reason);
  return d;
}
