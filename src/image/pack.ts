/**
 * `pack`: a root filesystem folder → .gvmi, without Docker. mksquashfs (squashfs-tools) writes the SquashFS
 * (padded to 4 KiB by default), we append the metadata trailer. The output is written under a temporary name and
 * renamed when complete, so a failure leaves nothing behind.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { PackError } from './errors.js';
import { gvmiTrailer } from './gvmi-writer.js';
import { sha3File } from './gvmi-reader.js';
import { guestPathFault } from './guest-path.js';

export const COMPRESSIONS = ['lzo', 'gzip', 'lz4', 'xz', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export interface PackOptions {
  rootfs: string;
  output: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  volumes?: string[];
  user?: string;
  compression?: Compression;
  /** Show mksquashfs's progress bar (on a terminal). */
  progress?: boolean;
}

export interface PackResult {
  output: string;
  size: number;
  sha3: string;
}

export function packMetadata(o: PackOptions): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  if (o.env?.length) meta['Env'] = o.env;
  if (o.entrypoint?.length) meta['Entrypoint'] = o.entrypoint;
  if (o.cmd?.length) meta['Cmd'] = o.cmd;
  meta['WorkingDir'] = o.workdir ?? '/';
  if (o.volumes?.length) meta['Volumes'] = Object.fromEntries(o.volumes.map((v) => [v, {}]));
  if (o.user) meta['User'] = o.user;
  return meta;
}

function validate(o: PackOptions, rootfs: string, output: string): void {
  for (const e of o.env ?? []) {
    if (!/^[^=\0]+=/.test(e)) throw new PackError('PACK_BAD_ENV', `pack: --env ${JSON.stringify(e)} is not K=V`);
  }
  for (const v of [...(o.volumes ?? []), ...(o.workdir ? [o.workdir] : [])]) {
    const fault = guestPathFault(v);
    if (fault) throw new PackError('PACK_BAD_PATH', `pack: guest path ${JSON.stringify(v)} ${fault}`);
  }
  if (o.volumes?.includes('/')) throw new PackError('PACK_BAD_PATH', 'pack: --volume / is not allowed');
  const rel = path.relative(rootfs, output);
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
    throw new PackError('PACK_OUTPUT_INSIDE', `pack: output ${output} is inside the input folder ${rootfs}`);
  }
}

export async function pack(o: PackOptions): Promise<PackResult> {
  const rootfs = path.resolve(o.rootfs);
  const output = path.resolve(o.output);
  const st = await fs.stat(rootfs).catch(() => undefined);
  if (!st?.isDirectory()) throw new PackError('PACK_NO_ROOTFS', `pack: ${rootfs} is not a folder`);
  validate(
    o,
    await fs.realpath(rootfs),
    path.join(await fs.realpath(path.dirname(output)).catch(() => path.dirname(output)), path.basename(output)),
  );

  const tmp = `${output}.partial-${process.pid}`;
  const comp = o.compression ?? 'lzo';
  try {
    const args = [rootfs, tmp, '-noappend', '-comp', comp, ...(o.progress ? [] : ['-quiet', '-no-progress'])];
    // With a progress bar, mksquashfs draws on our stderr (its stdout too: pack's own stdout carries only the result).
    await execa('mksquashfs', args, {
      stdio: o.progress ? ['ignore', 2, 'inherit'] : ['ignore', 'ignore', 'pipe'],
    }).catch((err: unknown) => {
      const stderr = (err as { stderr?: string }).stderr?.trim().split('\n').pop();
      throw new PackError('PACK_MKSQUASHFS', `pack: mksquashfs failed${stderr ? `: ${stderr}` : ''}`, { cause: err });
    });
    await fs.appendFile(tmp, gvmiTrailer(packMetadata(o)));
    await fs.rename(tmp, output);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  const size = (await fs.stat(output)).size;
  return { output, size, sha3: await sha3File(output) };
}
