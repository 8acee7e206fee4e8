/**
 * `pack`: an image (a root filesystem folder or tar, a `docker save` archive, an OCI layout) → .gvmi, without Docker
 * and without root (docs/image-import.md).
 *  - A folder goes to mksquashfs as it is.
 *  - Anything with layers is flattened (import/flatten.ts) into one tar streamed into sqfstar: no temporary copy
 *    of the tree on disk, and memory holds entry headers only.
 * Then the metadata trailer (docs/gvmi-format.md) is appended: the image config's Env, Cmd, Entrypoint, WorkingDir,
 * Volumes, Labels, ExposedPorts and User (a name resolved to numeric uid:gid from the image's own /etc/passwd, since
 * ya-runtime-vm honours only numbers), with the flags applied over it. The output is written under a temporary name
 * and renamed when complete, so a failure leaves nothing behind.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { PackError } from './errors.js';
import { gvmiTrailer } from './gvmi-writer.js';
import { sha3File } from './gvmi-reader.js';
import { guestPathFault } from './guest-path.js';
import { resolveUser } from './user.js';
import { resolveSource, type RegistryOptions, type ResolvedSource } from './import/resolve.js';
import { planFlatten, writeFlattened } from './import/flatten.js';
import { squashTar } from './import/squash.js';
import type { ImageJson } from './import/oci-schema.js';
import type { PackProgress } from './progress.js';

export const COMPRESSIONS = ['lzo', 'gzip', 'lz4', 'xz', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export interface PackOptions {
  /** The image: see import/resolve.ts for the forms. */
  source: string;
  output: string;
  /** Flags: each replaces the image's value, except env (sets each K over the image's) and volumes (added). */
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  volumes?: string[];
  user?: string;
  compression?: Compression;
  /** Show mksquashfs's progress bar (on a terminal; folder sources). */
  progress?: boolean;
  /** Fetch, flatten and squash progress of image sources (see progress.ts). */
  onProgress?: PackProgress;
  /** The same input gives the same bytes: the filesystem's creation time and every file's time are fixed. */
  reproducible?: boolean;
  /** `docker://` sources: skopeo's TLS and credentials options. */
  registry?: RegistryOptions;
}

/**
 * --reproducible: what differs between two runs of mksquashfs/sqfstar on the same input is the superblock's creation
 * time and the root directory's time (sqfstar 4.5.1 ignores -root-time), so both are fixed, and with them every
 * file's time (-all-time): SOURCE_DATE_EPOCH when set (the reproducible-builds convention), else 0.
 */
function reproducibleArgs(o: PackOptions): string[] {
  if (!o.reproducible) return [];
  const env = process.env['SOURCE_DATE_EPOCH'];
  const t = env !== undefined && /^[0-9]{1,10}$/.test(env) ? env : '0';
  return ['-mkfs-time', t, '-all-time', t];
}

export interface PackResult {
  output: string;
  size: number;
  sha3: string;
  /** What the user should know (e.g. zstd compression), one line each. */
  warnings: string[];
}

type Config = NonNullable<ImageJson['config']>;

function envKey(e: string): string {
  return e.slice(0, e.indexOf('='));
}

/** The trailer's metadata: the image config with the flags applied; `user` is already numeric. */
export function packMetadata(o: Omit<PackOptions, 'source' | 'output'>, image: Config = {}): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const env = [...(image.Env ?? [])];
  for (const e of o.env ?? []) {
    const i = env.findIndex((x) => envKey(x) === envKey(e));
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
  if (env.length) meta['Env'] = env;
  const entrypoint = o.entrypoint ?? image.Entrypoint ?? [];
  if (entrypoint.length) meta['Entrypoint'] = entrypoint;
  const cmd = o.cmd ?? image.Cmd ?? [];
  if (cmd.length) meta['Cmd'] = cmd;
  meta['WorkingDir'] = o.workdir ?? (image.WorkingDir || '/');
  const volumes = [...new Set([...Object.keys(image.Volumes ?? {}), ...(o.volumes ?? [])])];
  if (volumes.length) meta['Volumes'] = Object.fromEntries(volumes.map((v) => [v, {}]));
  if (image.Labels && Object.keys(image.Labels).length) meta['Labels'] = image.Labels;
  const ports = Object.keys(image.ExposedPorts ?? {});
  if (ports.length) meta['ExposedPorts'] = Object.fromEntries(ports.map((p) => [p, {}]));
  if (o.user) meta['User'] = o.user;
  return meta;
}

function validateFlags(o: PackOptions): void {
  for (const e of o.env ?? []) {
    if (!/^[^=\0]+=/.test(e)) throw new PackError('PACK_BAD_ENV', `pack: --env ${JSON.stringify(e)} is not K=V`);
  }
}

function validateMeta(meta: Record<string, unknown>): void {
  const volumes = Object.keys((meta['Volumes'] as Record<string, unknown> | undefined) ?? {});
  for (const v of [...volumes, meta['WorkingDir'] as string]) {
    const fault = guestPathFault(v);
    if (fault) throw new PackError('PACK_BAD_PATH', `pack: guest path ${JSON.stringify(v)} ${fault}`);
  }
  if (volumes.includes('/')) throw new PackError('PACK_BAD_PATH', 'pack: a volume on / is not allowed');
}

/** `name`, `name:group`… → `uid:gid` from the image's files; "" stays "" (root). */
function numericUser(user: string, passwd: string | undefined, group: string | undefined): string {
  if (user === '') return '';
  const r = resolveUser(user, passwd, group);
  return `${r.uid}:${r.gid}`;
}

/**
 * Volumes whose guest path holds files in the image: the volume's host folder hides them at run time (the best-known
 * Golem image pitfall; gvmkit says nothing). Recorded in the metadata as `VolumesWithContent` and warned about.
 */
function volumeContent(meta: Record<string, unknown>, count: (dir: string) => Promise<number> | number) {
  return async (warnings: string[]): Promise<void> => {
    const volumes = Object.keys((meta['Volumes'] as Record<string, unknown> | undefined) ?? {});
    const full: string[] = [];
    for (const v of volumes) {
      const n = await count(v);
      if (n === 0) continue;
      full.push(v);
      warnings.push(
        `VOLUME ${v} has ${n} path${n === 1 ? '' : 's'} in the image: at run time the volume's (empty) host folder is mounted over them and hides them`,
      );
    }
    if (full.length) meta['VolumesWithContent'] = full;
  };
}

/** Entries under `dir` in a folder (symlinks not followed), counted up to `cap`. */
async function countInFolder(dir: string, cap = 100_000): Promise<number> {
  let n = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (++n >= cap) return;
      if (e.isDirectory()) await walk(path.join(d, e.name));
    }
  };
  const st = await fs.lstat(dir).catch(() => undefined);
  if (st?.isDirectory()) await walk(dir);
  return n;
}

async function readOptional(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch(() => undefined);
}

async function packFolder(
  o: PackOptions,
  rootfs: string,
  output: string,
  tmp: string,
  comp: Compression,
  warnings: string[],
): Promise<Record<string, unknown>> {
  const rel = path.relative(await fs.realpath(rootfs), output);
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
    throw new PackError('PACK_OUTPUT_INSIDE', `pack: output ${output} is inside the input folder ${rootfs}`);
  }
  const user = o.user
    ? numericUser(
        o.user,
        await readOptional(path.join(rootfs, 'etc/passwd')),
        await readOptional(path.join(rootfs, 'etc/group')),
      )
    : '';
  const meta = packMetadata({ ...o, user });
  validateMeta(meta);
  await volumeContent(meta, (v) => countInFolder(path.join(rootfs, v)))(warnings);
  const args = [rootfs, tmp, '-noappend', '-comp', comp, ...reproducibleArgs(o)];
  args.push(...(o.progress ? [] : ['-quiet', '-no-progress']));
  // With a progress bar, mksquashfs draws on our stderr (its stdout too: pack's own stdout carries only the result).
  await execa('mksquashfs', args, {
    stdio: o.progress ? ['ignore', 2, 'inherit'] : ['ignore', 'ignore', 'pipe'],
  }).catch((err: unknown) => {
    const stderr = (err as { stderr?: string }).stderr?.trim().split('\n').pop();
    throw new PackError('PACK_MKSQUASHFS', `pack: mksquashfs failed${stderr ? `: ${stderr}` : ''}`, { cause: err });
  });
  return meta;
}

async function packLayers(
  o: PackOptions,
  src: Extract<ResolvedSource, { kind: 'image' }>,
  tmp: string,
  comp: Compression,
  warnings: string[],
): Promise<Record<string, unknown>> {
  const plan = await planFlatten(src.layers, o.onProgress);
  const image = src.config?.config ?? {};
  const user = numericUser(o.user ?? image.User ?? '', plan.captured.get('etc/passwd'), plan.captured.get('etc/group'));
  const meta = packMetadata({ ...o, user }, image);
  validateMeta(meta);
  await volumeContent(meta, (v) => plan.countUnder(v))(warnings);
  await squashTar(tmp, comp, reproducibleArgs(o), (tar) => writeFlattened(src.layers, plan, tar, o.onProgress));
  return meta;
}

export async function pack(o: PackOptions): Promise<PackResult> {
  validateFlags(o);
  const output = path.resolve(o.output);
  const src = await resolveSource(o.source, o.registry ?? {}, o.onProgress);
  try {
    return await packResolved(o, output, src);
  } finally {
    await src.cleanup?.();
  }
}

async function packResolved(o: PackOptions, output: string, src: ResolvedSource): Promise<PackResult> {
  if (src.kind === 'image' && path.resolve(src.what) === output)
    throw new PackError('PACK_OUTPUT_INSIDE', `pack: output ${output} is the input`);
  const comp = o.compression ?? 'lzo';
  const warnings: string[] = [];
  if (comp === 'zstd')
    warnings.push(
      'zstd: providers running the original ya-runtime-vm (its guest kernel) cannot mount zstd images; lzo (the default) works everywhere',
    );
  const tmp = `${output}.partial-${process.pid}`;
  try {
    const meta =
      src.kind === 'rootfs-dir'
        ? await packFolder(o, path.resolve(src.dir), output, tmp, comp, warnings)
        : await packLayers(o, src, tmp, comp, warnings);
    await fs.appendFile(tmp, gvmiTrailer(meta));
    await fs.rename(tmp, output);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  const size = (await fs.stat(output)).size;
  return { output, size, sha3: await sha3File(output), warnings };
}
