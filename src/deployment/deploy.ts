/**
 * Deploying an image into an activity workdir: read the image, plan volumes and disks (plan.ts), create the folders
 * and disks, write deployment.json atomically (store.ts). Re-running on the same workdir reuses folders and disks of
 * the right size. On failure, what this run created is removed and no deployment.json is written.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { readGvmi } from '../image/gvmi-reader.js';
import type { Deployment } from './deployment.js';
import { createExt4Disk } from './disks.js';
import { planDeployment, type PlanInput } from './plan.js';
import { writeDeployment } from './store.js';

export interface DeployInput extends Omit<PlanInput, 'image' | 'workdir'> {
  /** The activity workdir (made absolute here). */
  workdir: string;
  /** The .gvmi file. */
  imagePath: string;
  log: Logger;
}

export async function deploy(input: DeployInput): Promise<Deployment> {
  const { imagePath, log, ...rest } = input;
  const workdir = path.resolve(input.workdir);
  const image = await readGvmi(path.resolve(imagePath));
  const plan = planDeployment({ ...rest, workdir, image });
  log.info({ plan }, 'deployment planned');
  const created: string[] = [];
  try {
    await mkdirTracked(workdir, created);
    for (const v of plan.volumes) if (v.kind === 'host') await mkdirTracked(v.hostPath, created);
    const disks = [
      ...(plan.rootUpper.kind === 'disk' ? [{ path: plan.rootUpper.path, size: plan.rootUpper.sizeBytes }] : []),
      ...plan.volumes.flatMap((v) =>
        v.kind === 'storage' ? [{ path: v.diskPath, size: v.sizeBytes, pre: v.preallocateBytes }] : [],
      ),
    ];
    for (const disk of disks) {
      const st = await fs.stat(disk.path).catch(() => undefined);
      if (st?.size === disk.size) continue;
      await mkdirTracked(path.dirname(disk.path), created);
      created.push(disk.path);
      await createExt4Disk(disk.path, disk.size, 'pre' in disk && disk.pre ? { preallocateBytes: disk.pre } : {});
      log.info({ disk: disk.path, size: disk.size }, 'disk image created');
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
