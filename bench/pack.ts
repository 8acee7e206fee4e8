/**
 * `pack` speed (docs/image-import.md): a ~100 MB image as an OCI layout of two layers (the bench image's root
 * filesystem, and a layer of 100 MiB of random bytes in 4 files) packed to .gvmi (lzo), against the floor
 * mksquashfs (lzo) of the same tree already flattened in a folder. Figures: from uncompressed layers (the target:
 * at most 1.0x the floor, flattening on the way costing nothing beyond the squash) and from gzip layers (reported).
 * pack runs as a user runs it, the CLI in its own process; every run writes a fresh output. Runs alternate.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { buildImage, writeOciLayout } from '../test/helpers/oci-builder.js';
import { makeRootfs } from './lib/artefacts.js';
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { CLI } from './lib/env.js';
import { makeFigure, type Figure } from './lib/results.js';
import { newWorkdir, removeWorkdir } from './lib/vm.js';

const PAYLOAD = 100 * 1024 * 1024;

async function tarOf(dir: string, what: string[]): Promise<Buffer> {
  const r = await execa('tar', ['--numeric-owner', '--format=pax', '-C', dir, '-cf', '-', ...what], {
    encoding: 'buffer',
    maxBuffer: 1 << 30,
  });
  return Buffer.from(r.stdout);
}

async function seconds(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

export async function packSpeed(ctx: BenchContext): Promise<Figure[]> {
  const n = iterations(ctx, 2, 4);
  const work = await newWorkdir('pack');
  try {
    const tree = path.join(work, 'tree');
    await makeRootfs(tree);
    const rootEntries = await fs.readdir(tree);
    await fs.mkdir(path.join(tree, 'data'));
    for (let i = 0; i < 4; i++)
      await fs.writeFile(path.join(tree, 'data', `blob${i}`), crypto.randomBytes(PAYLOAD / 4));
    const layers = [await tarOf(tree, rootEntries), await tarOf(tree, ['data'])];
    const plain = path.join(work, 'oci-plain');
    const gzip = path.join(work, 'oci-gzip');
    await writeOciLayout(plain, await buildImage({ layers }), { tag: 'b' });
    // The layers gzipped once, outside the timing (zlib, default level).
    await writeOciLayout(gzip, await buildImage({ layers, compression: 'gzip' }), { tag: 'b' });
    const bytes = layers.reduce((s, l) => s + l.length, 0);
    ctx.say(
      `pack: 1 warm-up + ${n} runs each of ${(bytes / 1e6).toFixed(0)} MB in 2 layers, plain and gzip, vs mksquashfs`,
    );
    const out = (tag: string): string => path.join(work, `${tag}.gvmi`);
    const packOnce = (source: string, tag: string) => () =>
      execa(process.execPath, [CLI, 'pack', source, '-o', out(tag), '--compression', 'lzo'], { stdin: 'ignore' });
    const floorOnce = () => () =>
      execa('mksquashfs', [tree, out('floor'), '-noappend', '-comp', 'lzo', '-quiet', '-no-progress'], {
        stdin: 'ignore',
      });
    await packOnce(`oci:${plain}:b`, 'plain')();
    await floorOnce()();
    const plainS: number[] = [];
    const gzipS: number[] = [];
    const floorS: number[] = [];
    for (let i = 0; i < n; i++) {
      plainS.push(await seconds(packOnce(`oci:${plain}:b`, 'plain')));
      floorS.push(await seconds(floorOnce()));
      gzipS.push(await seconds(packOnce(`oci:${gzip}:b`, 'gzip')));
    }
    const floor = { label: 'mksquashfs -comp lzo of the same tree already flattened in a folder', samples: floorS };
    const notes = [
      `${bytes} bytes of uncompressed layers (the bench root filesystem, and 100 MiB of random bytes in 4 files); lzo; the CLI's own process start included`,
    ];
    return [
      makeFigure({
        id: 'pack-layers',
        title: 'pack of a 100 MB image from uncompressed layers',
        unit: 's',
        better: 'lower',
        samples: plainS,
        floors: [floor],
        target: { text: 'at most 1.0x mksquashfs of the flattened folder', bound: 'max', ratio: 1.0 },
        notes,
      }),
      makeFigure({
        id: 'pack-gzip-layers',
        title: 'pack of the same image from gzip layers',
        unit: 's',
        better: 'lower',
        samples: gzipS,
        floors: [floor],
        notes: [...notes, 'the layers gzip-compressed (zlib default level); reported, no target'],
      }),
    ];
  } finally {
    await removeWorkdir(work);
  }
}
