/** Shared by start, run and test: boot an Activity for a deployment with the global options' VM choices. */
import type { Context } from './context.js';
import { Activity } from '../activity.js';
import type { Deployment } from '../deployment/deployment.js';
import { UsageError } from './globals.js';

/** `--net user` in service mode: under yagna the VM's traffic must take the ExeUnit's path, where the provider's
 * outbound rules apply (docs/networking.md, "Operator networking"). */
export function refuseUserNetInServiceMode(ctx: Context): void {
  if (ctx.globals.net === 'user')
    throw new UsageError(
      "--net user is for operators (start on a terminal, run): under yagna it would bypass the provider's outbound " +
        "rules, which apply on the ExeUnit's --inet-endpoint",
    );
}

export async function bootActivity(
  ctx: Context,
  deployment: Deployment,
  workdir: string,
  signal?: AbortSignal,
  onQemuSpawned?: () => void,
): Promise<Activity> {
  const g = ctx.globals;
  const activity = await Activity.boot({
    deployment,
    workdir,
    log: ctx.log,
    accel: g.accel,
    volumes: g.volumes,
    network: g.network,
    userNet: g.net === 'user',
    limits: g.limits,
    ...(g.virtiofsd ? { virtiofsdPath: g.virtiofsd } : {}),
    ...(g.guestDir ? { guestDir: g.guestDir } : {}),
    ...(signal ? { signal } : {}),
    ...(onQemuSpawned ? { onQemuSpawned } : {}),
  });
  if (activity.accel.warning) process.stderr.write(`ya-runtime-vm: warning: ${activity.accel.warning}\n`);
  return activity;
}

/** The output sink of a process whose output goes to our own stdout/stderr (operator `run`). */
export function stdioSink(): { stdout(c: Uint8Array): Promise<void>; stderr(c: Uint8Array): Promise<void> } {
  const write = (s: NodeJS.WriteStream, c: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => {
      s.write(c, (err) => (err ? reject(err) : resolve()));
    });
  return { stdout: (c) => write(process.stdout, c), stderr: (c) => write(process.stderr, c) };
}
