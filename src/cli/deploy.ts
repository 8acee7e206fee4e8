/**
 * `deploy --`: deploy --task-package into the workdir (src/deployment/deploy.ts) and print the deploy JSON
 * (docs/yagna-contract.md, section 2.1) as the only thing on stdout.
 */
import path from 'node:path';
import type { Context } from './context.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './globals.js';
import { deploy, type DeployInput } from '../deployment/deploy.js';
import { deployOutput } from '../deployment/plan.js';
import { gibToBytes } from '../deployment/sizes.js';
import { parseVolumeOverride } from '../deployment/volume-override.js';

export async function deployCommand(ctx: Context): Promise<number> {
  const d = await deploy(deployInput(ctx, path.resolve(ctx.globals.workdir ?? process.cwd())));
  process.stdout.write(JSON.stringify(deployOutput(d)) + '\n');
  return EXIT.OK;
}

/** The global options as a deployment of --task-package into `workdir`; also used by `run` for an ephemeral VM. */
export function deployInput(ctx: Context, workdir: string): DeployInput {
  const g = ctx.globals;
  if (!g.taskPackage) throw new UsageError('--task-package is required');
  return {
    workdir,
    imagePath: g.taskPackage,
    cpuCores: g.cpuCores,
    memBytes: g.memGib === undefined ? undefined : gibToBytes(g.memGib),
    storageBytes: g.storageGib === undefined ? undefined : gibToBytes(g.storageGib),
    hostname: g.hostname,
    overrides: g.volumeOverride === undefined ? new Map() : parseVolumeOverride(g.volumeOverride),
    log: ctx.log,
  };
}
