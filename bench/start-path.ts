/**
 * The host's own start path, as multiples of `node -e 0` measured in the same run (issue 16): the runtime spawned
 * through the descriptor's `runtime-path` (runtime-descriptor.json), as the ExeUnit spawns it, never as
 * `node <script>`, so the shebang's `env` lookup is in the figures too.
 *
 *  - `deploy` wall time (spawn to exit, cwd = workdir);
 *  - `start` spawn -> QEMU spawned (the "qemu started" log line);
 *  - QEMU spawned -> agent ready ("guest agent connected"), -> Hello answered, -> first exec of /bin/true done;
 *  - the whole cold start (deploy + start + first exec) against its floor: the bare VM boot (bench/cold-start.ts's
 *    floor VM) plus two `node -e 0`, the two Node processes the contract requires (deploy and start).
 *
 * With `--before DIR` (a built checkout of an older commit) every run also measures DIR's runtime-path, interleaved
 * with this build's, so before/after come from the same minutes of the same machine; its figures get `-before`.
 * The full run adds one cold-page-cache run (drop_caches before each of node, the floor VM and the cold start;
 * root only).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { REPO_ROOT } from './lib/env.js';
import { makeFigure, type Figure } from './lib/results.js';
import { summarize } from './lib/stats.js';
import { logTime, newWorkdir, removeWorkdir } from './lib/vm.js';
import { floorBoot } from './cold-start.js';
import { ExeUnitClient } from '../test/helpers/exeunit-client.js';

/** The program the ExeUnit runs for a checkout: its descriptor's runtime-path, resolved against the checkout. */
export function runtimePath(root: string): string {
  const d = JSON.parse(fs.readFileSync(path.join(root, 'runtime-descriptor.json'), 'utf8')) as {
    'runtime-path': string;
  }[];
  return path.resolve(root, d[0]!['runtime-path']);
}

/** The commit of a checkout (`git rev-parse --short HEAD`), else its folder name. */
function describeCheckout(root: string): string {
  try {
    return `commit ${execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()}`;
  } catch {
    return path.basename(root);
  }
}

/** Wall ms of a process from spawn to exit; fails unless it exits 0. */
function wallOf(file: string, args: string[], cwd?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve(ms);
      else reject(new Error(`${file} ${args.join(' ')} exited with ${code}: ${err.trim().slice(-400)}`));
    });
  });
}

export const nodeNoop = (): Promise<number> => wallOf(process.execPath, ['-e', '0']);

export interface StartRun {
  deploy: number;
  /** ms since start's spawn */
  qemuSpawned: number;
  agentReady: number;
  helloAnswered: number;
  firstExec: number;
  /** deploy + start spawn to first exec done */
  total: number;
}

/** One cold start of `program` (deploy, then start until the first exec is done), phase by phase. */
export async function startPathOnce(ctx: BenchContext, program: string): Promise<StartRun> {
  const workdir = await newWorkdir('startpath');
  let client: ExeUnitClient | undefined;
  try {
    const globals = ['--workdir', workdir, ...ctx.deployGlobals];
    const deploy = await wallOf(program, [...globals, '--task-package', ctx.art.benchImage, 'deploy', '--'], workdir);
    const t0 = Date.now();
    client = ExeUnitClient.spawn({ workdir, globalArgs: ['--workdir', workdir], command: [program] });
    await client.hello();
    const tHello = Date.now();
    const r = await client.run('/bin/true');
    if (r.code !== 0) throw new Error(`/bin/true exited with ${r.code}`);
    const tExec = Date.now();
    const end = await client.shutdown(15_000);
    client = undefined;
    if (end.code !== 0) throw new Error(`start exited with ${end.code ?? end.signal} after Shutdown`);
    const qemu = await logTime(workdir, 'qemu started');
    const agent = await logTime(workdir, 'guest agent connected');
    if (qemu === undefined || agent === undefined)
      throw new Error(`no "qemu started"/"guest agent connected" log line`);
    return {
      deploy,
      qemuSpawned: qemu - t0,
      agentReady: agent - t0,
      helloAnswered: tHello - t0,
      firstExec: tExec - t0,
      total: deploy + (tExec - t0),
    };
  } finally {
    await client?.dispose().catch(() => undefined);
    await removeWorkdir(workdir);
  }
}

/** `sync; echo 3 > /proc/sys/vm/drop_caches`; false when not allowed (not root, a container). */
export async function dropPageCache(): Promise<boolean> {
  try {
    await wallOf('sync', []);
    await fsp.writeFile('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

const x = (ms: number, node: number): string => `${(ms / node).toFixed(2)}x`;

function figuresFor(suffix: string, label: string, runs: StartRun[], node: number[], floorVm: number[]): Figure[] {
  const pick = (f: (r: StartRun) => number): number[] => runs.map(f);
  const nodeFloor = [{ label: '`node -e 0`', samples: node }];
  const pairFloor = floorVm.map((v, i) => v + 2 * node[i]!);
  const med = (xs: number[]): number => summarize(xs).median;
  const nodeMed = med(node);
  const phase = (id: string, title: string, f: (r: StartRun) => number, target?: number): Figure =>
    makeFigure({
      id: `start-path-${id}${suffix}`,
      title: `${title}${label}`,
      unit: 'ms',
      better: 'lower',
      samples: pick(f),
      floors: nodeFloor,
      ...(target ? { target: { text: `≤ ${target}x \`node -e 0\``, bound: 'max' as const, ratio: target } } : {}),
    });
  return [
    phase('deploy', '`deploy` wall time (runtime-path spawned, cwd = workdir)', (r) => r.deploy, 1.3),
    phase('qemu', '`start` spawn → QEMU spawned', (r) => r.qemuSpawned, 1.3),
    phase('agent', 'QEMU spawned → guest agent ready (HELLO)', (r) => r.agentReady - r.qemuSpawned),
    phase('hello', 'agent ready → Hello answered (mounts done)', (r) => r.helloAnswered - r.agentReady),
    phase('exec', 'Hello answered → first exec of /bin/true done', (r) => r.firstExec - r.helloAnswered),
    makeFigure({
      id: `start-path-cold${suffix}`,
      title: `Cold start via runtime-path: deploy + start + first exec${label}`,
      unit: 'ms',
      better: 'lower',
      samples: pick((r) => r.total),
      floors: [
        { label: 'bare VM boot (floor VM, spawn to exit) + 2 x `node -e 0`', samples: pairFloor },
        { label: 'bare VM boot alone', samples: floorVm },
      ],
      target: { text: 'within 1.25x of bare VM + 2 node', bound: 'max', ratio: 1.25 },
      breakdown: [
        { name: 'deploy done (ms since deploy spawned)', samples: pick((r) => r.deploy) },
        { name: 'QEMU spawned', samples: pick((r) => r.deploy + r.qemuSpawned) },
        { name: 'agent ready', samples: pick((r) => r.deploy + r.agentReady) },
        { name: 'Hello answered', samples: pick((r) => r.deploy + r.helloAnswered) },
        { name: 'first exec done', samples: pick((r) => r.total) },
      ],
      notes: [
        `medians as multiples of \`node -e 0\` (${nodeMed.toFixed(0)} ms): deploy ${x(med(pick((r) => r.deploy)), nodeMed)}, start → QEMU ${x(med(pick((r) => r.qemuSpawned)), nodeMed)}, start → agent ${x(med(pick((r) => r.agentReady)), nodeMed)}, start → Hello ${x(med(pick((r) => r.helloAnswered)), nodeMed)}, start → first exec ${x(med(pick((r) => r.firstExec)), nodeMed)}`,
      ],
    }),
  ];
}

export async function startPath(ctx: BenchContext): Promise<Figure[]> {
  const n = iterations(ctx, 3, 15);
  const programs: { suffix: string; label: string; program: string }[] = [
    { suffix: '', label: '', program: runtimePath(REPO_ROOT) },
  ];
  if (ctx.beforeRoot)
    programs.push({
      suffix: '-before',
      label: ` (before: ${describeCheckout(ctx.beforeRoot)})`,
      program: runtimePath(ctx.beforeRoot),
    });
  ctx.say(
    `start path: ${programs.map((p) => p.program).join(' and ')}, 1 warm-up + ${n} runs each, interleaved with node -e 0 and the floor VM`,
  );
  for (const p of programs) await startPathOnce(ctx, p.program);
  await nodeNoop();
  const runs = programs.map(() => [] as StartRun[]);
  const node: number[] = [];
  const floorVm: number[] = [];
  for (let i = 0; i < n; i++) {
    // Rotate the order so that neither build always follows the floor VM.
    for (let k = 0; k < programs.length; k++) {
      const j = (i + k) % programs.length;
      runs[j]!.push(await startPathOnce(ctx, programs[j]!.program));
    }
    node.push(await nodeNoop());
    floorVm.push(await floorBoot(ctx));
  }
  const figures = programs.flatMap((p, j) => figuresFor(p.suffix, p.label, runs[j]!, node, floorVm));

  if (!ctx.quick) {
    // One run with a cold page cache: every file (node, our bundle, QEMU, the kernel, the image) read from disk.
    if (await dropPageCache()) {
      const nodeCold = await nodeNoop();
      await dropPageCache();
      const vmCold = await floorBoot(ctx);
      await dropPageCache();
      const cold = await startPathOnce(ctx, programs[0]!.program);
      figures.push(
        makeFigure({
          id: 'start-path-pagecold',
          title: 'Cold start via runtime-path with a cold page cache (one run, drop_caches before)',
          unit: 'ms',
          better: 'lower',
          samples: [cold.total],
          floors: [
            { label: 'bare VM boot + 2 x `node -e 0`, each after drop_caches', samples: [vmCold + 2 * nodeCold] },
          ],
          breakdown: [
            { name: 'deploy done', samples: [cold.deploy] },
            { name: 'QEMU spawned', samples: [cold.deploy + cold.qemuSpawned] },
            { name: 'agent ready', samples: [cold.deploy + cold.agentReady] },
            { name: 'Hello answered', samples: [cold.deploy + cold.helloAnswered] },
            { name: 'first exec done', samples: [cold.total] },
          ],
          notes: [
            `cold \`node -e 0\` ${nodeCold.toFixed(0)} ms: deploy ${x(cold.deploy, nodeCold)}, start → QEMU ${x(cold.qemuSpawned, nodeCold)}; cold bare VM boot ${vmCold.toFixed(0)} ms`,
          ],
        }),
      );
    } else ctx.say('start path: cannot drop the page cache (not root?): no cold-page-cache run');
  }
  return figures;
}
