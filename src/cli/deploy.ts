/**
 * `deploy --`: read the image, plan volumes and disks, create them, write deployment.json atomically, print the
 * deploy JSON (docs/yagna-contract.md, section 2.1) as the only thing on stdout. Re-running on the same workdir reuses
 * folders and disks of the right size. On failure, what this run created is removed and no deployment.json is
 * written.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from './context.js';
import { UsageError } from './globals.js';
import { readGvmi } from '../image/gvmi-reader.js';
import { parseVolumeOverride } from '../deployment/volume-override.js';
import { deployOutput, planDeployment } from '../deployment/plan.js';
import { gibToBytes } from '../deployment/sizes.js';
import { writeDeployment } from '../deployment/store.js';
import type { Deployment } from '../deployment/deployment.js';
import { createExt4Disk } from '../vm/disks.js';

export async function deployCommand(ctx: Context): Promise<number> {
  const d = await deploy(ctx);
  process.stdout.write(JSON.stringify(deployOutput(d)) + '\n');
  return 0;
}

/** Also used by `run` for an ephemeral VM. */
export async function deploy(ctx: Context): Promise<Deployment> {
  const g = ctx.globals;
  if (!g.taskPackage) throw new UsageError('--task-package is required');
  const workdir = path.resolve(g.workdir ?? process.cwd());
  const image = await readGvmi(path.resolve(g.taskPackage));
  const plan = planDeployment({
    workdir,
    image,
    cpuCores: g.cpuCores,
    memBytes: g.memGib === undefined ? undefined : gibToBytes(g.memGib),
    storageBytes: g.storageGib === undefined ? undefined : gibToBytes(g.storageGib),
    hostname: g.hostname,
    overrides: g.volumeOverride === undefined ? new Map() : parseVolumeOverride(g.volumeOverride),
  });
  ctx.log.info({ plan }, 'deployment planned');
  const created: string[] = [];
  try {
    await mkdirTracked(workdir, created);
    for (const v of plan.volumes) if (v.kind === 'host') await mkdirTracked(v.hostPath, created);
    const disks = [
      ...(plan.rootUpper.kind === 'disk' ? [{ path: plan.rootUpper.path, size: plan.rootUpper.sizeBytes }] : []),
      ...plan.volumes.flatMap((v) => (v.kind === 'storage' ? [{ path: v.diskPath, size: v.sizeBytes, pre: v.preallocateBytes }] : [])),
    ];
    for (const disk of disks) {
      const st = await fs.stat(disk.path).catch(() => undefined);
      if (st?.size === disk.size) continue;
      await mkdirTracked(path.dirname(disk.path), created);
      created.push(disk.path);
      await createExt4Disk(disk.path, disk.size, 'pre' in disk && disk.pre ? { preallocateBytes: disk.pre } : {});
      ctx.log.info({ disk: disk.path, size: disk.size }, 'disk image created');
    }
    await writeDeployment(workdir, plan);
  } catch (err) {
    for (const p of created.reverse()) await fs.rm(p, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  return plan;
}

async function mkdirTracked(dir: string, created: string[]): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (first) created.push(first);
}
