/**
 * `run [--entrypoint EP] -- CMD ARGS`: run one command in the activity's VM, output streamed to our stdout/stderr,
 * exit code = the process's (128+N after signal N, 127 when the binary is missing).
 * With a live `start` for the workdir it attaches through `<workdir>/control.sock`; otherwise it boots an
 * ephemeral VM (from the workdir's deployment.json, or from --task-package into a temporary workdir), runs the
 * command and shuts the VM down, like `docker run`.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Context } from './context.js';
import { UsageError } from './globals.js';
import { bootActivity, stdioSink } from './boot.js';
import { deployInput } from './deploy.js';
import { connectControl } from '../control/client.js';
import { controlSocketPath } from '../control/socket-path.js';
import { deploy } from '../deployment/deploy.js';
import { readDeployment } from '../deployment/store.js';
import { ExecFailedError } from '../activity-errors.js';
import { ControlRequestError } from '../control/errors.js';
import { RUN_EXIT } from './exit-codes.js';
import type { ExecSpec } from '../activity-api.js';

export async function runCommand(ctx: Context, entrypoint: string | undefined, cmd: string[]): Promise<number> {
  const argv = entrypoint ? [entrypoint, ...cmd] : cmd;
  if (argv.length === 0)
    throw new UsageError('run: no command given (run -- CMD ARGS, or run --entrypoint EP -- ARGS)');
  const spec: ExecSpec = { bin: argv[0]!, argv };
  const workdir = path.resolve(ctx.globals.workdir ?? process.cwd());

  const attached = await runAttached(ctx, workdir, spec);
  if (attached !== undefined) return attached;
  return runEphemeral(ctx, workdir, spec);
}

async function runAttached(ctx: Context, workdir: string, spec: ExecSpec): Promise<number | undefined> {
  const socket = controlSocketPath(workdir);
  if (!(await fs.stat(socket).catch(() => undefined))?.isSocket()) return undefined;
  if (ctx.globals.net === 'user')
    throw new UsageError(
      `run: a start serves ${workdir}, so its VM is already up: give --net user to that start, not to run`,
    );
  let client;
  try {
    client = await connectControl(socket, { log: ctx.log });
  } catch (err) {
    // Only "nobody listens" means no live start; any other failure must not boot a second VM on the same disks.
    if ((err as { code?: unknown }).code !== 'CONTROL_NOT_RUNNING') throw err;
    ctx.log.info({ err }, 'no live start for this workdir');
    return undefined;
  }
  const sink = stdioSink();
  let pid: number | undefined;
  const forward = (): void => void (pid !== undefined && client.kill(pid, 'SIGINT').catch(() => undefined));
  process.on('SIGINT', forward);
  try {
    const status = await client.run(spec, { onStdout: sink.stdout, onStderr: sink.stderr, onStart: (p) => (pid = p) });
    return status.code;
  } catch (err) {
    return failedToStart(err);
  } finally {
    process.off('SIGINT', forward);
    client.close();
  }
}

async function runEphemeral(ctx: Context, workdir: string, spec: ExecSpec): Promise<number> {
  const existing = ctx.globals.taskPackage ? undefined : await readDeployment(workdir).catch(() => undefined);
  if (!existing && !ctx.globals.taskPackage) {
    throw new UsageError(
      `run: no running start and no deployment in ${workdir}; pass --task-package IMAGE to boot one`,
    );
  }
  // Without --workdir, an image given with --task-package is deployed into a temporary folder, removed afterwards.
  const temp = existing || ctx.globals.workdir ? undefined : await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-run-'));
  const dir = temp ?? workdir;
  try {
    const deployment = existing ?? (await deploy(deployInput(ctx, dir)));
    const activity = await bootActivity(ctx, deployment, dir);
    const stop = (): void => void activity.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const proc = await activity.exec(spec, stdioSink());
      return (await proc.exit).code;
    } catch (err) {
      return failedToStart(err);
    } finally {
      await activity.shutdown();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  } finally {
    if (temp) await fs.rm(temp, { recursive: true, force: true });
  }
}

/** A command that could not start: one line on stderr, and the shell's codes (127 missing, 126 not executable),
 * told apart by the error's `startFailure` (from the activity, or from `start` through the control socket). */
function failedToStart(err: unknown): number {
  const code = startFailureExit(err);
  if (code === undefined) throw err;
  process.stderr.write(`ya-runtime-vm run: ${(err as Error).message}\n`);
  return code;
}

/** 127 or 126 for an error saying the command could not start; undefined for any other error. */
export function startFailureExit(err: unknown): number | undefined {
  const failure = err instanceof ExecFailedError || err instanceof ControlRequestError ? err.startFailure : undefined;
  if (failure === undefined) return undefined;
  return failure === 'not-found' ? RUN_EXIT.NOT_FOUND : RUN_EXIT.NOT_EXECUTABLE;
}
