/**
 * `start`: boot the activity's VM and serve it until the end of the activity.
 * Service mode (stdin not a terminal, the ExeUnit): protobuf frames on stdin/stdout (src/api/service.ts); stdout
 * carries frames only. Operator mode (stdin a terminal): print how to reach the VM, serve until Ctrl-C.
 * Both serve `<workdir>/control.sock` (JSON-RPC, src/control/) for `run`.
 * `start-entrypoint` among the args runs the image's Entrypoint + Cmd as a background process once the VM is up;
 * its output goes to `<workdir>/logs/entrypoint.log` (not to the ExeUnit: it binds events to the next command).
 *
 * Start path (docs/benchmarks.md, Start path): in service mode the boot begins as soon as the deployment is read,
 * before the Hello that asks for it. The first request is always Hello and its reply waits for the boot anyway
 * (docs/yagna-contract.md, 3.3), so that Hello takes the boot already under way. The service (protobuf) and the
 * control socket (vscode-jsonrpc) modules are loaded once QEMU is spawned, while the guest boots, not before.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from './context.js';
import { bootActivity, refuseUserNetInServiceMode } from './boot.js';
import { readDeployment } from '../deployment/store.js';
import type { ControlServer } from '../control/server.js';
import { controlSocketPath } from '../control/socket-path.js';
import type { ActivityApi } from '../activity-api.js';
import type { Activity } from '../activity.js';
import type { Deployment } from '../deployment/deployment.js';
import { CliError } from './errors.js';
import { START_EXIT } from './exit-codes.js';
import { takeStopKeys } from './terminal.js';

/** How long service mode waits for QEMU to be spawned before it loads the service anyway (see the head comment). */
const SERVICE_LOAD_DEADLINE_MS = 2000;

export async function startCommand(ctx: Context, args: string[]): Promise<number> {
  const workdir = path.resolve(ctx.globals.workdir ?? process.cwd());
  if (!process.stdin.isTTY) refuseUserNetInServiceMode(ctx);
  const deployment = await readDeployment(workdir);
  const entrypoint = args.includes('start-entrypoint');
  ctx.log.info({ args, entrypoint, tty: process.stdin.isTTY === true }, 'start');
  if (process.stdin.isTTY) return operatorMode(ctx, workdir, deployment, entrypoint);

  let activity: Activity | undefined;
  let control: ControlServer | undefined;
  const cancelBoot = new AbortController();
  // SIGTERM/SIGINT (e.g. the provider stopping): cancel a boot in progress, tear the VM down, then exit.
  const stopOnSignal = (sig: NodeJS.Signals): void => {
    ctx.log.warn({ signal: sig }, 'signal received: shutting down');
    cancelBoot.abort();
    void Promise.allSettled([control?.close(), activity?.shutdown()]).finally(() => process.exit(START_EXIT.OK));
  };
  process.once('SIGTERM', stopOnSignal);
  process.once('SIGINT', stopOnSignal);
  let qemuSpawned!: () => void;
  const spawned = new Promise<void>((resolve) => (qemuSpawned = resolve));
  // Loaded while the guest boots; awaited only once the activity is up.
  const controlModule = spawned.then(() => import('../control/server.js'));
  controlModule.catch(() => undefined);
  const bootAndServe = async (): Promise<Activity> => {
    activity = await bootActivity(ctx, deployment, workdir, cancelBoot.signal, qemuSpawned);
    const { startControlServer } = await controlModule;
    control = await startControlServer({
      socketPath: controlSocketPath(workdir),
      activity,
      log: ctx.log,
      onShutdownRequested: () => activity?.shutdown(),
    }).catch((err: unknown) => {
      ctx.log.warn({ err }, 'control socket not available');
      return undefined;
    });
    return activity;
  };
  // The boot the first Hello takes (its failure is that Hello's Error reply); undefined once taken.
  let early: Promise<Activity> | undefined = bootAndServe();
  early.then(qemuSpawned, qemuSpawned);
  // Until QEMU is spawned, or for a bounded while: requests wait in the pipe meanwhile, and a boot stuck before
  // QEMU (a virtiofsd that never listens) must not keep a Shutdown unread for long.
  await Promise.race([spawned, new Promise<void>((r) => setTimeout(r, SERVICE_LOAD_DEADLINE_MS).unref())]);
  const { runService } = await import('../api/service.js');
  const code = await runService({
    input: process.stdin,
    output: process.stdout,
    log: ctx.log,
    boot: async (signal) => {
      signal.addEventListener('abort', () => cancelBoot.abort(), { once: true });
      const boot = early ?? bootAndServe();
      early = undefined;
      return boot;
    },
    ...(entrypoint ? { onStartEntrypoint: (a: ActivityApi) => startEntrypoint(ctx, a, deployment, workdir) } : {}),
  });
  if (early) {
    // The service ended (EOF, Shutdown, a broken stream) before any Hello: cancel the boot begun for it.
    cancelBoot.abort();
    await early.catch(() => undefined);
  }
  await control?.close();
  // Normally a no-op (the service already shut the activity down and reported any failure in its code).
  await activity?.shutdown().catch(() => undefined);
  ctx.log.info({ code }, 'start: exiting');
  return code;
}

async function operatorMode(
  ctx: Context,
  workdir: string,
  deployment: Deployment,
  entrypoint: boolean,
): Promise<number> {
  // Ctrl-C is read as a key from before the boot until the VM is down (terminal.ts): pressed during the boot it
  // cancels it; pressed again while stopping it only says to wait (the guest is syncing).
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const cancelBoot = new AbortController();
  let hangup = false;
  const say = (text: string): void => {
    if (!hangup) process.stderr.write(text);
  };
  let stopping = false;
  const stop = (): void => {
    if (stopping) return void say('Still stopping the VM (the guest is syncing its disks) ...\n');
    stopping = true;
    cancelBoot.abort();
    resolveDone();
  };
  const giveTerminalBack = takeStopKeys(process.stdin, stop);
  // `kill -INT` / `kill -TERM`, or a Ctrl-C where the terminal could not be taken (started in the background).
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A hangup reaches QEMU and virtiofsd too (same process group), so they are already ending: clean up our files,
  // then end by the same signal (Node 20 aborts when it exits normally on a hung-up terminal).
  // Writing to a hung-up terminal fails with EIO: that must not end the runtime before it has cleaned up.
  const ignoreTerminalError = (err: unknown): void => ctx.log.warn({ err }, 'terminal write failed');
  process.stdout.on('error', ignoreTerminalError);
  process.stderr.on('error', ignoreTerminalError);
  process.stdin.on('error', ignoreTerminalError);
  // The kernel may send SIGHUP twice (to the session leader, then to the foreground group): keep the handler.
  const onHangup = (): void => {
    if (hangup) return;
    hangup = true;
    ctx.log.warn('terminal hung up: stopping the VM');
    stop();
  };
  process.on('SIGHUP', onHangup);
  try {
    process.stderr.write(`Booting ${deployment.image.path} ...\n`);
    const activity = await bootActivity(ctx, deployment, workdir, cancelBoot.signal).catch((err: unknown) => {
      if (!cancelBoot.signal.aborted) throw err;
      return undefined;
    });
    if (!activity) {
      say('Boot cancelled; nothing is left running.\n');
      return START_EXIT.BOOT_CANCELLED;
    }
    let control: ControlServer;
    try {
      const { startControlServer } = await import('../control/server.js');
      control = await startControlServer({
        socketPath: controlSocketPath(workdir),
        activity,
        log: ctx.log,
        onShutdownRequested: () => resolveDone(),
      });
      if (entrypoint) await startEntrypoint(ctx, activity, deployment, workdir);
    } catch (err) {
      await activity.shutdown().catch((e: unknown) => ctx.log.error({ err: e }, 'shutdown after a failed start'));
      throw err;
    }
    const self = `ya-runtime-vm --workdir ${workdir}`;
    process.stdout.write(
      `VM ready (accelerator: ${activity.accel.accel}). Run commands in it with:\n` +
        `  ${self} run -- /bin/sh -c 'uname -a'\n` +
        `Host volumes: ${
          deployment.volumes
            .filter((v) => v.kind === 'host')
            .map((v) => `${v.guestPath} = ${v.hostPath}`)
            .join(', ') || 'none'
        }\n` +
        `Press Ctrl-C to stop the VM.\n`,
    );
    activity.vmExited.then(resolveDone, resolveDone);
    await done;
    stopping = true;
    say('Stopping the VM ...\n');
    await control.close();
    await activity.shutdown();
    return START_EXIT.OK;
  } finally {
    giveTerminalBack();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.off('SIGHUP', onHangup);
    if (hangup) process.kill(process.pid, 'SIGHUP');
  }
}

async function startEntrypoint(ctx: Context, activity: ActivityApi, d: Deployment, workdir: string): Promise<void> {
  const argv = [...d.config.entrypoint, ...d.config.cmd];
  if (argv.length === 0)
    throw new CliError('NO_ENTRYPOINT', 'start-entrypoint: the image has neither Entrypoint nor Cmd', {
      reply: 'bad-request',
    });
  const logFile = path.join(workdir, 'logs', 'entrypoint.log');
  const out = fs.createWriteStream(logFile, { flags: 'a' });
  out.on('error', (err) => ctx.log.warn({ err, logFile }, 'entrypoint log not writable'));
  const write = (c: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => out.write(c, (e) => (e ? reject(e) : resolve())));
  const proc = await activity.exec({ bin: argv[0]!, argv }, { stdout: write, stderr: write }).catch((err: unknown) => {
    out.end();
    throw err;
  });
  ctx.log.info({ pid: proc.pid, cmd: argv, logFile }, 'entrypoint started');
  proc.exit
    .then(
      (s) => ctx.log.info({ pid: proc.pid, exit: s }, 'entrypoint ended'),
      (err: unknown) => ctx.log.warn({ pid: proc.pid, err }, 'entrypoint lost'),
    )
    .finally(() => out.end());
}
