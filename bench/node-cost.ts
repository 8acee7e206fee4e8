/**
 * The Node process's own cost, outside any VM:
 *  - `ya-runtime-vm --version` wall time (Node start + loading the CLI), floor: `node -e 0` (Node start alone);
 *  - `deploy` of a ~100 MiB image into a fresh workdir (reads the image's metadata, plans, makes the disks),
 *    floor: `cat image > /dev/null` (reading every byte once, from the page cache after the first run).
 * Runs alternate with their floors.
 */
import fs from 'node:fs';
import { execa } from 'execa';
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { CLI } from './lib/env.js';
import { makeFigure, type Figure } from './lib/results.js';
import { newWorkdir, removeWorkdir } from './lib/vm.js';
import { deployTo } from '../test/helpers/vm.js';

async function wall(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

export async function nodeCost(ctx: BenchContext): Promise<Figure[]> {
  const nv = iterations(ctx, 5, 15);
  const nd = iterations(ctx, 3, 8);
  ctx.say(`node cost: --version x${nv}, deploy of the 100 MiB image x${nd} (1 warm-up each)`);
  const version = (): Promise<unknown> => execa(process.execPath, [CLI, '--version'], { stdin: 'ignore' });
  const nodeNoop = (): Promise<unknown> => execa(process.execPath, ['-e', '0'], { stdin: 'ignore' });
  await version();
  await nodeNoop();
  const v: number[] = [];
  const vf: number[] = [];
  for (let i = 0; i < nv; i++) {
    v.push(await wall(version));
    vf.push(await wall(nodeNoop));
  }
  const img = ctx.art.bigImage;
  const deployOnce = async (): Promise<number> => {
    const w = await newWorkdir('deploy');
    try {
      return await wall(() => deployTo(w, img, ctx.deployGlobals));
    } finally {
      await removeWorkdir(w);
    }
  };
  const cat = (): Promise<unknown> => execa('cat', [img], { stdin: 'ignore', stdout: 'ignore' });
  await deployOnce();
  await cat();
  const d: number[] = [];
  const df: number[] = [];
  for (let i = 0; i < nd; i++) {
    d.push(await deployOnce());
    df.push(await wall(cat));
  }
  const size = fs.statSync(img).size;
  return [
    makeFigure({
      id: 'cli-version',
      title: '`ya-runtime-vm --version` wall time',
      unit: 'ms',
      better: 'lower',
      samples: v,
      floors: [{ label: '`node -e 0`', samples: vf }],
    }),
    makeFigure({
      id: 'deploy-100mib',
      title: `\`deploy\` of a ${(size / 2 ** 20).toFixed(0)} MiB image`,
      unit: 'ms',
      better: 'lower',
      samples: d,
      floors: [{ label: '`cat image > /dev/null`', samples: df }],
      notes: [`image ${size} bytes; deploy globals: ${ctx.deployGlobals.join(' ')}`],
    }),
  ];
}
