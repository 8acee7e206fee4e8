/**
 * Many activities at once (issue 16): N activities of 0.5 GiB each (16 in the full run, 2 with --quick), as yagna
 * runs them (runtime-path spawned in service mode): deploy all, start all and send each its Hello at once, run
 * /bin/true in each, measure memory while they idle, shut all down; then check that nothing is left behind (no
 * process naming a workdir, no socket left in a workdir's run/). Times are from the first deploy; one run.
 * Floor for the time: N floor VMs (trivial init) booted at once, spawn to exit, measured after the activities.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchContext } from './lib/context.js';
import { REPO_ROOT } from './lib/env.js';
import { makeFigure, type Figure } from './lib/results.js';
import { newWorkdir, processesOf, removeWorkdir, sleep } from './lib/vm.js';
import { floorBoot } from './cold-start.js';
import { measure } from './idle-memory.js';
import { runtimePath } from './start-path.js';
import { ExeUnitClient } from '../test/helpers/exeunit-client.js';
import { execFile } from 'node:child_process';

const MEM_GIB = 0.5;

function deployOne(program: string, workdir: string, image: string, globals: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      ['--workdir', workdir, '--task-package', image, ...globals, 'deploy', '--'],
      { cwd: workdir },
      (err, _out, stderr) => (err ? reject(new Error(`deploy failed: ${err.message}: ${stderr}`)) : resolve()),
    );
  });
}

/** What outlived the shutdown: processes naming a workdir, sockets left in its run/. */
function leftovers(workdirs: string[]): string[] {
  const left: string[] = [];
  for (const w of workdirs) {
    for (const p of processesOf(w)) left.push(`${p.kind} pid ${p.pid}`);
    const run = path.join(w, 'run');
    for (const f of fs.existsSync(run) ? fs.readdirSync(run) : []) if (f.endsWith('.sock')) left.push(`${w}/run/${f}`);
  }
  return left;
}

export async function manyActivities(ctx: BenchContext): Promise<Figure[]> {
  const count = ctx.quick ? 2 : 16;
  const program = runtimePath(REPO_ROOT);
  const globals = ['--cpu-cores', '1', '--mem-gib', String(MEM_GIB), '--storage-gib', '1'];
  ctx.say(`many: ${count} activities of ${MEM_GIB} GiB at once: deploy, Hello, /bin/true, idle memory, shutdown`);
  const workdirs: string[] = [];
  for (let i = 0; i < count; i++) workdirs.push(await newWorkdir(`many${i}`));
  const clients: ExeUnitClient[] = [];
  try {
    const t0 = performance.now();
    await Promise.all(workdirs.map((w) => deployOne(program, w, ctx.art.benchImage, globals)));
    const tDeployed = performance.now();
    for (const w of workdirs)
      clients.push(ExeUnitClient.spawn({ workdir: w, globalArgs: ['--workdir', w], command: [program] }));
    await Promise.all(clients.map((c) => c.hello()));
    const tBooted = performance.now();
    const runs = await Promise.all(clients.map((c) => c.run('/bin/true')));
    const bad = runs.filter((r) => r.code !== 0).length;
    if (bad) throw new Error(`/bin/true failed in ${bad} of ${count} activities`);
    const tRan = performance.now();
    await sleep(2000);
    const mem = await measure(workdirs);
    const t1 = performance.now();
    const ends = await Promise.all(clients.map((c) => c.shutdown(30_000)));
    const tDown = performance.now();
    clients.length = 0;
    const failed = ends.filter((e) => e.code !== 0).length;
    if (failed) throw new Error(`${failed} of ${count} activities did not exit 0 after Shutdown`);
    await sleep(500);
    const left = leftovers(workdirs);
    if (left.length) throw new Error(`left behind after shutdown: ${left.join(', ')}`);
    const f0 = performance.now();
    await Promise.all(Array.from({ length: count }, () => floorBoot(ctx)));
    const floorMs = performance.now() - f0;
    const total = tDown - t0 - (t1 - tRan); // the idle wait and the memory readings are not part of the work
    return [
      makeFigure({
        id: `many-${count}`,
        title: `${count} activities of ${MEM_GIB} GiB at once: deploy, boot, /bin/true, shutdown (total)`,
        unit: 'ms',
        better: 'lower',
        samples: [total],
        floors: [{ label: `${count} floor VMs booted at once, spawn to exit`, samples: [floorMs] }],
        breakdown: [
          { name: 'all deployed (ms from the first deploy)', samples: [tDeployed - t0] },
          { name: 'all Hellos answered', samples: [tBooted - t0] },
          { name: 'all /bin/true done', samples: [tRan - t0] },
          { name: 'all shut down (start exited), idle wait not counted', samples: [total] },
        ],
        notes: ['one run; nothing was left behind (no process naming a workdir, no socket in run/)'],
      }),
      makeFigure({
        id: `many-${count}-mem`,
        title: `${count} activities at once, idle after /bin/true: total PSS`,
        unit: 'MiB',
        better: 'lower',
        samples: mem.pss,
        breakdown: [
          { name: 'total PSS less guest RAM (MiB)', samples: mem.host },
          { name: 'per activity PSS less guest RAM (MiB)', samples: mem.host.map((h) => h / count) },
          { name: 'total RSS (MiB)', samples: mem.rss },
        ],
      }),
    ];
  } finally {
    await Promise.all(clients.map((c) => c.dispose().catch(() => undefined)));
    for (const w of workdirs) await removeWorkdir(w);
  }
}
