/**
 * Cold start, as a requestor feels it: `deploy` (the CLI, a Node process, as the ExeUnit runs it), then `start`
 * spawned as the ExeUnit spawns it (cwd = workdir, protobuf on stdio) until its Hello reply (the VM is up and every
 * volume mounted), then RunProcess of /bin/true until its exit event. Phases (ms since deploy started): runtime
 * process up (its "start" log line), QEMU spawned ("qemu started"), console's first byte (fs.watch on
 * logs/console.log), agent HELLO ("guest agent connected"), Hello answered, first exec done.
 *
 * Floor: the same QEMU, kernel, machine type, memory, vCPUs and accelerator (buildQemuArgs) booting floor-init from
 * its own tiny initramfs, which reboots at once; wall time from spawning QEMU to its exit. Cold runs and floor runs
 * alternate, so a noisy neighbour hurts both alike.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { buildQemuArgs } from '../src/vm/qemu-args.js';
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { makeFigure, type Figure } from './lib/results.js';
import { summarize } from './lib/stats.js';
import { logTime, newWorkdir, removeWorkdir } from './lib/vm.js';
import { deployTo } from '../test/helpers/vm.js';
import { ExeUnitClient } from '../test/helpers/exeunit-client.js';

interface ColdRun {
  total: number;
  deploy: number;
  runtimeUp?: number;
  qemuSpawned?: number;
  consoleFirst?: number;
  hello?: number;
  helloAnswered: number;
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
  if (r.exitCode !== 0)
    throw new Error(`floor VM: QEMU exited with ${r.exitCode ?? r.signal}: ${String(r.stderr).trim().slice(-300)}`);
  return ms;
}

async function coldOnce(ctx: BenchContext): Promise<ColdRun> {
  const workdir = await newWorkdir('cold');
  let watcher: fs.FSWatcher | undefined;
  let runtime: ExeUnitClient | undefined;
  try {
    const t0 = Date.now();
    await deployTo(workdir, ctx.art.benchImage, ctx.deployGlobals);
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
    runtime = ExeUnitClient.spawn({ workdir, globalArgs: ['--workdir', workdir, ...ctx.deployGlobals] });
    await runtime.hello();
    const tHello = Date.now();
    const r = await runtime.run('/bin/true');
    if (r.code !== 0) throw new Error(`/bin/true exited with ${r.code}`);
    const tExec = Date.now();
    watcher.close();
    const s0 = Date.now();
    const end = await runtime.shutdown(15_000);
    if (end.code !== 0) throw new Error(`start exited with ${end.code ?? end.signal} after Shutdown`);
    const shutdown = Date.now() - s0;
    runtime = undefined;
    const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : t - t0);
    const run: ColdRun = {
      total: tExec - t0,
      deploy: tDeployed - t0,
      helloAnswered: tHello - t0,
      firstExec: tExec - t0,
      shutdown,
    };
    const phases: [keyof ColdRun, number | undefined][] = [
      ['runtimeUp', rel(await logTime(workdir, 'start'))],
      ['qemuSpawned', rel(await logTime(workdir, 'qemu started'))],
      ['consoleFirst', rel(tConsole)],
      ['hello', rel(await logTime(workdir, 'guest agent connected'))],
    ];
    for (const [k, v] of phases) if (v !== undefined) run[k] = v;
    return run;
  } finally {
    watcher?.close();
    await runtime?.dispose().catch(() => undefined);
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
      title: 'Cold start: deploy + start (Hello answered) + first exec of /bin/true',
      unit: 'ms',
      better: 'lower',
      samples: pick('total'),
      floors: [{ label: 'QEMU + kernel + trivial init that reboots at once (spawn to exit)', samples: floor }],
      target: { text: 'within 1.25x of the floor', bound: 'max', ratio: 1.25 },
      breakdown: [
        { name: 'deploy (CLI) done, start spawned', samples: pick('deploy') },
        { name: 'start process up (its first log line)', samples: pick('runtimeUp') },
        { name: 'QEMU spawned', samples: pick('qemuSpawned') },
        { name: 'console first byte', samples: pick('consoleFirst') },
        { name: 'agent HELLO', samples: pick('hello') },
        { name: 'Hello answered (mounts done)', samples: pick('helloAnswered') },
        { name: 'first exec done', samples: pick('firstExec') },
      ],
      notes: [
        `phases are ms since the start of deploy (medians of ${n} runs); shutdown afterwards (not in the figure): median ${Math.round(summarize(pick('shutdown')).median)} ms`,
      ],
    }),
  ];
}
