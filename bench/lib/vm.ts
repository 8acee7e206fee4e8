/**
 * How the benchmarks deploy and boot (the pattern of test/helpers/vm.ts): `deploy` through the real CLI into a
 * fresh workdir, Activity.boot in this process with a file logger (so boot phases can be read back from
 * `<workdir>/logs/runtime.log`), commands run through Activity.exec with an output sink that only counts or keeps
 * bytes. Also: finding an activity's processes and reading their memory from /proc.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Activity, type VolumeTransport } from '../../src/activity.js';
import type { ExitStatus } from '../../src/activity-api.js';
import type { Deployment } from '../../src/deployment/deployment.js';
import type { Endpoint, NetworkRole } from '../../src/network/endpoint.js';
import { createLogger } from '../../src/log.js';
import { REPO_ROOT } from './env.js';
import { deployTo } from '../../test/helpers/vm.js';

export async function newWorkdir(tag: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `yrvm-bench-${tag}-`));
}

export async function removeWorkdir(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true });
}

export interface BootedVm {
  activity: Activity;
  workdir: string;
  deployment: Deployment;
  dispose(): Promise<void>;
}

export async function bootVm(
  image: string,
  globals: string[],
  opts: {
    volumes?: VolumeTransport;
    tag: string;
    /** Endpoints of the VPN / INET interfaces, as `start --vpn-endpoint` gives them (bench/net.ts). */
    network?: Partial<Record<NetworkRole, Endpoint>>;
  },
): Promise<BootedVm> {
  const workdir = await newWorkdir(opts.tag);
  try {
    const deployment = await deployTo(workdir, image, globals);
    const log = createLogger({ workdir });
    const activity = await Activity.boot({
      deployment,
      workdir,
      log,
      accel: 'auto',
      ...(opts.volumes ? { volumes: opts.volumes } : {}),
      ...(opts.network ? { network: opts.network } : {}),
    });
    return {
      activity,
      workdir,
      deployment,
      async dispose() {
        await activity.shutdown();
        await removeWorkdir(workdir);
      },
    };
  } catch (err) {
    await removeWorkdir(workdir);
    throw err;
  }
}

export interface RunOutput extends ExitStatus {
  stdout: Buffer;
  stderr: Buffer;
  stdoutBytes: number;
}

/** Runs argv in the VM. With `countOnly`, stdout is counted and dropped (streaming); stderr is always kept. */
export async function runIn(
  activity: Activity,
  argv: string[],
  opts: { countOnly?: boolean } = {},
): Promise<RunOutput> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let stdoutBytes = 0;
  const proc = await activity.exec(
    { bin: argv[0]!, argv },
    {
      stdout: async (c) => {
        stdoutBytes += c.byteLength;
        if (!opts.countOnly) out.push(Buffer.from(c));
      },
      stderr: async (c) => void err.push(Buffer.from(c)),
    },
  );
  const status = await proc.exit;
  return { ...status, stdout: Buffer.concat(out), stderr: Buffer.concat(err), stdoutBytes };
}

/** Runs argv and fails unless it exits 0. */
export async function mustRun(activity: Activity, argv: string[]): Promise<RunOutput> {
  const r = await runIn(activity, argv);
  if (r.code !== 0)
    throw new Error(`${argv.join(' ')} exited with ${r.code}: ${r.stderr.toString().trim().slice(-500)}`);
  return r;
}

/**
 * Times a guest command two ways: `host` = the host's wall time of the whole exec minus `baselineMs` (the round trip
 * of an exec of /bin/true, measured just before), and `guest` = the guest's own clock (timeit). The guest clock
 * cannot always be trusted: under TCG the guest kernel may drop the TSC and fall back to jiffies (4 ms steps, and
 * it falls behind when ticks are lost), so the benchmarks use `host` and show `guest` beside it.
 */
export async function timedInGuest(
  activity: Activity,
  argv: string[],
  baselineMs: number,
): Promise<{ host: number; guest: number }> {
  const t0 = performance.now();
  const r = await mustRun(activity, ['/usr/local/bin/timeit', ...argv]);
  const host = performance.now() - t0 - baselineMs;
  const m = /timeit ns=(\d+) status=0/.exec(r.stderr.toString());
  if (!m) throw new Error(`no timing from timeit ${argv.join(' ')}: ${r.stderr.toString().trim().slice(-300)}`);
  return { host: Math.max(host, 0.001), guest: Number(m[1]) / 1e6 };
}

/** Median host-side round trip (ms) of `runs` execs of /bin/true: what timedInGuest subtracts. */
export async function execBaseline(activity: Activity, runs = 7): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await mustRun(activity, ['/usr/local/bin/timeit', '/bin/true']);
    xs.push(performance.now() - t0);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

/** The guest's current clocksource (tsc, refined-jiffies, ...). */
export async function guestClocksource(activity: Activity): Promise<string> {
  const r = await runIn(activity, ['/bin/cat', '/sys/devices/system/clocksource/clocksource0/current_clocksource']);
  return r.code === 0 ? r.stdout.toString().trim() : 'unknown';
}

/** Milliseconds since the epoch at which the first runtime.log line with `msg` (and matching `pred`) was written. */
export async function logTime(
  workdir: string,
  msg: string,
  pred: (o: Record<string, unknown>) => boolean = () => true,
): Promise<number | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(workdir, 'logs', 'runtime.log'), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o['msg'] === msg && typeof o['time'] === 'number' && pred(o)) return o['time'];
    } catch {
      // a partial line; skip
    }
  }
  return undefined;
}

export interface ProcMem {
  pid: number;
  kind: 'qemu' | 'virtiofsd' | 'runtime' | 'other';
  rssKiB: number;
  pssKiB: number;
  /** PSS less the guest RAM mapping (hostPss). */
  hostPssKiB: number;
}

function kindOf(cmd: string): ProcMem['kind'] {
  if (/qemu-system/.test(cmd)) return 'qemu';
  if (/virtiofsd/.test(cmd)) return 'virtiofsd';
  if (/ya-runtime-vm/.test(cmd)) return 'runtime';
  return 'other';
}

/** RSS (VmRSS) and PSS (smaps_rollup) of one process, KiB; undefined when it is gone or a zombie. */
export function procMem(pid: number): { rssKiB: number; pssKiB: number; cmd: string } | undefined {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    if (!cmd) return undefined;
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    let pss = NaN;
    try {
      pss = Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
    } catch {
      // smaps_rollup needs Linux 4.14+ and ptrace access
    }
    return { rssKiB: rss, pssKiB: pss, cmd };
  } catch {
    return undefined;
  }
}

/**
 * PSS of one process split into guest RAM (the `memory-backend-memfd` mapping that QEMU and each virtiofsd map) and the rest: what the host process itself costs. KiB; undefined when it is gone or unreadable.
 */
export function hostPss(pid: number): { hostKiB: number; guestRamKiB: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  let guest = false;
  let hostKiB = 0;
  let guestRamKiB = 0;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      // QEMU 7.2 names the memfd after the backend's type, others after its id (`mem`, src/vm/qemu-args.ts).
      guest = /\s\/memfd:(memory-backend-memfd|mem)\b/.test(line);
      continue;
    }
    const m = /^Pss:\s+(\d+) kB/.exec(line);
    if (!m) continue;
    if (guest) guestRamKiB += Number(m[1]);
    else hostKiB += Number(m[1]);
  }
  return { hostKiB, guestRamKiB };
}

/** Live processes whose command line mentions `needle` (a workdir), with their memory. */
export function processesOf(needle: string): ProcMem[] {
  const found: ProcMem[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    const m = procMem(Number(d));
    if (m && m.cmd.includes(needle) && !m.cmd.startsWith('setpriv'))
      found.push({
        pid: Number(d),
        kind: kindOf(m.cmd),
        rssKiB: m.rssKiB,
        pssKiB: m.pssKiB,
        hostPssKiB: hostPss(Number(d))?.hostKiB ?? NaN,
      });
  }
  return found;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { REPO_ROOT };
