/**
 * Cold start: `deploy` (the CLI, a separate Node process, as the ExeUnit runs it) + Activity.boot until the agent
 * is ready and every mount is done + the first exec of /bin/true finished. Phases (ms since the start of deploy):
 * QEMU spawned (supervisor's "qemu started" log line), console's first byte (fs.watch on logs/console.log), agent
 * HELLO ("guest agent connected"), mounts done ("activity ready"), first exec done.
 *
 * Floor: the same QEMU, kernel, machine type, memory, vCPUs and accelerator (buildQemuArgs) booting floor-init from
 * its own tiny initramfs, which reboots at once; wall time from spawning QEMU to its exit. Cold runs and floor runs
 * alternate, so a noisy neighbour hurts both alike.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { Activity } from '../src/activity.js';
import { createLogger } from '../src/log.js';
import { buildQemuArgs } from '../src/vm/qemu-args.js';
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { makeFigure, type Figure } from './lib/results.js';
import { summarize } from './lib/stats.js';
import { logTime, newWorkdir, removeWorkdir, runIn } from './lib/vm.js';
import { deployTo } from '../test/helpers/vm.js';

interface ColdRun {
  total: number;
  deploy: number;
  qemuSpawned?: number;
  consoleFirst?: number;
  hello?: number;
  mounts: number;
  firstExec: number;
  shutdown: number;
}

/** QEMU argv of the floor VM: the activity's QEMU settings booting floor-init instead of our init. */
export function floorQemuArgs(ctx: BenchContext, extraCmdline: string[] = []): string[] {
  return buildQemuArgs({
    accel: ctx.accel,
    cpus: ctx.cpus,
    memBytes: ctx.memBytes,
    kernelPath: ctx.guest.kernel,
    initrdPath: ctx.art.floorInitramfs,
    cmdlineExtra: extraCmdline,
  });
}

/** Wall ms of one floor boot: QEMU + kernel + floor-init (reboots at once). */
export async function floorBoot(ctx: BenchContext, extraCmdline: string[] = []): Promise<number> {
  const args = floorQemuArgs(ctx, extraCmdline);
  const t0 = performance.now();
  const r = await execa('qemu-system-x86_64', args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`floor VM: QEMU exited with ${r.exitCode ?? r.signal}: ${String(r.stderr).trim().slice(-300)}`);
  return ms;
}

async function coldOnce(ctx: BenchContext): Promise<ColdRun> {
  const workdir = await newWorkdir('cold');
  let watcher: fs.FSWatcher | undefined;
  let activity: Activity | undefined;
  try {
    const t0 = Date.now();
    const deployment = await deployTo(workdir, ctx.art.benchImage, ctx.deployGlobals);
    const tDeployed = Date.now();
    // startVm creates logs/ itself; making it first lets us watch for the console's first byte.
    const logs = path.join(workdir, 'logs');
    await fsp.mkdir(logs, { recursive: true });
    let tConsole: number | undefined;
    watcher = fs.watch(logs, (_ev, name) => {
      if (tConsole === undefined && name === 'console.log') {
        try {
          if (fs.statSync(path.join(logs, 'console.log')).size > 0) tConsole = Date.now();
        } catch {
          // not there yet
        }
      }
    });
    const log = createLogger({ workdir });
    activity = await Activity.boot({ deployment, workdir, log, accel: 'auto' });
    const tReady = Date.now();
    const r = await runIn(activity, ['/bin/true']);
    if (r.code !== 0) throw new Error(`/bin/true exited with ${r.code}`);
    const tExec = Date.now();
    watcher.close();
    const s0 = Date.now();
    await activity.shutdown();
    const shutdown = Date.now() - s0;
    activity = undefined;
    const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : t - t0);
    const qemu = await logTime(workdir, 'qemu started');
    const hello = await logTime(workdir, 'guest agent connected');
    const ready = await logTime(workdir, 'activity ready');
    const run: ColdRun = { total: tExec - t0, deploy: tDeployed - t0, mounts: (ready ?? tReady) - t0, firstExec: tExec - t0, shutdown };
    const q = rel(qemu);
    const c = rel(tConsole);
    const h = rel(hello);
    if (q !== undefined) run.qemuSpawned = q;
    if (c !== undefined) run.consoleFirst = c;
    if (h !== undefined) run.hello = h;
    return run;
  } finally {
    watcher?.close();
    await activity?.shutdown().catch(() => undefined);
    await removeWorkdir(workdir);
  }
}

export async function coldStart(ctx: BenchContext): Promise<Figure[]> {
  const n = iterations(ctx, 3, 8);
  ctx.say(`cold start: 1 warm-up + ${n} runs, alternating with the floor VM`);
  await coldOnce(ctx);
  await floorBoot(ctx);
  const runs: ColdRun[] = [];
  const floor: number[] = [];
  for (let i = 0; i < n; i++) {
    runs.push(await coldOnce(ctx));
    floor.push(await floorBoot(ctx));
  }
  const pick = (k: keyof ColdRun): number[] => runs.map((r) => r[k]).filter((v): v is number => v !== undefined);
  return [
    makeFigure({
      id: 'cold-start',
      title: 'Cold start: deploy + boot + first exec of /bin/true',
      unit: 'ms',
      better: 'lower',
      samples: pick('total'),
      floors: [{ label: 'QEMU + kernel + trivial init that reboots at once (spawn to exit)', samples: floor }],
      target: { text: 'within 1.25x of the floor', bound: 'max', ratio: 1.25 },
      breakdown: [
        { name: 'deploy (CLI) done', samples: pick('deploy') },
        { name: 'QEMU spawned', samples: pick('qemuSpawned') },
        { name: 'console first byte', samples: pick('consoleFirst') },
        { name: 'agent HELLO', samples: pick('hello') },
        { name: 'mounts done (activity ready)', samples: pick('mounts') },
        { name: 'first exec done', samples: pick('firstExec') },
      ],
      notes: [
        `phases are ms since the start of deploy (medians of ${n} runs); shutdown afterwards (not in the figure): median ${Math.round(summarize(pick('shutdown')).median)} ms`,
      ],
    }),
  ];
}
