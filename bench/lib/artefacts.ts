/**
 * Bench artefacts, built once and cached under `<cache>/bench/` keyed by the hash of their inputs:
 *  - the static guest helpers from bench/guest/*.c (musl-gcc -static): floor-init, forkexec, timeit;
 *  - the floor initramfs: floor-init as /init in a gzip'd newc cpio (the same format scripts/build-guest makes);
 *  - the bench image: the test image's rootfs (`scripts/make-test-image --rootfs DIR`) plus forkexec and timeit in
 *    /usr/local/bin, packed with our own `pack` (lzo, like the test image);
 *  - a ~100 MiB image (the same rootfs plus 100 MiB of random bytes) for the deploy-cost figure.
 * Nothing here is timed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { BENCH_CACHE, BENCH_SRC, CLI, REPO_ROOT } from './env.js';

const HELPERS = ['floor-init', 'forkexec', 'timeit'] as const;
export type HelperName = (typeof HELPERS)[number];

export interface Artefacts {
  helpers: Record<HelperName, string>;
  floorInitramfs: string;
  benchImage: string;
  bigImage: string;
}

function sha(parts: (string | Buffer)[]): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Runs `make` into a temp path beside `out`, then renames it: a killed run never leaves a half-written artefact. */
async function cached(out: string, make: (tmp: string) => Promise<void>): Promise<string> {
  if (fs.existsSync(out)) return out;
  await fsp.mkdir(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  await fsp.rm(tmp, { recursive: true, force: true });
  try {
    await make(tmp);
    await fsp.rename(tmp, out);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  return out;
}

async function buildHelpers(): Promise<Record<HelperName, string>> {
  const out = {} as Record<HelperName, string>;
  for (const name of HELPERS) {
    const src = path.join(BENCH_SRC, 'guest', `${name}.c`);
    const key = sha([await fsp.readFile(src), 'musl-gcc -static -O2']);
    out[name] = await cached(path.join(BENCH_CACHE, 'helpers', `${name}-${key}`), async (tmp) => {
      await execa('musl-gcc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, src], { stdio: 'inherit' });
    });
  }
  return out;
}

async function buildFloorInitramfs(init: string): Promise<string> {
  const key = sha([await fsp.readFile(init), 'newc+gzip-9']);
  return cached(path.join(BENCH_CACHE, `floor-initramfs-${key}.img`), async (tmp) => {
    const stage = `${tmp}.d`;
    await fsp.mkdir(path.join(stage, 'dev'), { recursive: true });
    await fsp.mkdir(path.join(stage, 'proc'));
    await fsp.mkdir(path.join(stage, 'sys'));
    await fsp.copyFile(init, path.join(stage, 'init'));
    await fsp.chmod(path.join(stage, 'init'), 0o755);
    try {
      // Like scripts/build-guest's initramfs: /dev/console exists for the kernel to open (needs root for mknod).
      if (process.getuid?.() === 0)
        await execa('mknod', ['-m', '600', path.join(stage, 'dev', 'console'), 'c', '5', '1']);
      await execa('sh', [
        '-c',
        `cd "${stage}" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9 -n > "${tmp}"`,
      ]);
    } finally {
      await fsp.rm(stage, { recursive: true, force: true });
    }
  });
}

export async function makeRootfs(dir: string): Promise<void> {
  await execa('bash', [path.join(REPO_ROOT, 'scripts', 'make-test-image'), '--rootfs', dir], { cwd: REPO_ROOT });
}

/** The same image config as scripts/make-test-image (env, workdir, volumes, lzo). */
async function packImage(rootfs: string, out: string): Promise<void> {
  await execa(
    process.execPath,
    [
      CLI,
      'pack',
      rootfs,
      '-o',
      out,
      '--env',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      '--workdir',
      '/golem/work',
      '--volume',
      '/golem/input',
      '--volume',
      '/golem/output',
      '--compression',
      'lzo',
    ],
    { cwd: REPO_ROOT, stdout: 'ignore' },
  );
}

async function buildBenchImage(helpers: Record<HelperName, string>): Promise<string> {
  const script = await fsp.readFile(path.join(REPO_ROOT, 'scripts', 'make-test-image'));
  const key = sha([script, await fsp.readFile(helpers.forkexec), await fsp.readFile(helpers.timeit), 'bench-image-1']);
  return cached(path.join(BENCH_CACHE, `bench-image-${key}.gvmi`), async (tmp) => {
    const rootfs = `${tmp}.rootfs`;
    try {
      await makeRootfs(rootfs);
      for (const name of ['forkexec', 'timeit'] as const) {
        const dst = path.join(rootfs, 'usr', 'local', 'bin', name);
        await fsp.copyFile(helpers[name], dst);
        await fsp.chmod(dst, 0o755);
      }
      await packImage(rootfs, tmp);
    } finally {
      await fsp.rm(rootfs, { recursive: true, force: true });
    }
  });
}

export const BIG_IMAGE_PAYLOAD = 100 * 1024 * 1024;

async function buildBigImage(): Promise<string> {
  const script = await fsp.readFile(path.join(REPO_ROOT, 'scripts', 'make-test-image'));
  const key = sha([script, `random-${BIG_IMAGE_PAYLOAD}`, 'big-image-1']);
  return cached(path.join(BENCH_CACHE, `big-image-${key}.gvmi`), async (tmp) => {
    const rootfs = `${tmp}.rootfs`;
    try {
      await makeRootfs(rootfs);
      await fsp.mkdir(path.join(rootfs, 'data'));
      // Random bytes do not compress: the image is about as big as the payload.
      await execa('head', ['-c', String(BIG_IMAGE_PAYLOAD), '/dev/urandom'], {
        stdout: { file: path.join(rootfs, 'data', 'blob') },
      });
      await packImage(rootfs, tmp);
    } finally {
      await fsp.rm(rootfs, { recursive: true, force: true });
    }
  });
}

export async function prepareArtefacts(): Promise<Artefacts> {
  const helpers = await buildHelpers();
  const floorInitramfs = await buildFloorInitramfs(helpers['floor-init']);
  const benchImage = await buildBenchImage(helpers);
  const bigImage = await buildBigImage();
  return { helpers, floorInitramfs, benchImage, bigImage };
}
