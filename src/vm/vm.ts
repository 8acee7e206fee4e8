/**
 * One VM's process lifecycle: virtiofsd helpers, QEMU, the agent socket, teardown.
 *
 * Start (startVm):
 *  1. create `<workdir>/run/` (sockets) and `<workdir>/logs/` (console.log, qemu.log, virtiofsd-N.log); bind every
 *     socket through a short symlink to run/ (src/unix-socket-path.ts), since workdirs exceed the 107-byte socket limit;
 *  2. one virtiofsd per virtio-fs share, started before QEMU (QEMU connects to its socket at startup); wait until
 *     each socket exists;
 *  3. QEMU (qemu-args.ts), under the supervisor (setpriv --pdeathsig KILL, our process group);
 *  4. connect to QEMU's agent chardev socket, retrying until it appears (bounded). The guest handshake is not done
 *     here: the socket is handed to the guest client.
 * Any failure tears down what was started and throws VmStartError built from facts (QEMU's last stderr line, the
 * last console line).
 *
 * Stop (VmHandle.stop, idempotent; also run when QEMU ends by itself or `signal` aborts): teardown.ts, in fixed order
 * QEMU SIGTERM -> SIGKILL after `stopGraceMs`, then each virtiofsd the same way, then verify every pid is gone
 * (a live /proc/<pid>/cmdline; a zombie has none), then remove the sockets and the short symlink. stop() does NOT
 * ask the guest to shut down: the caller sends SHUTDOWN over the agent first when it wants a clean guest exit.
 */
import fs from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../log.js';
import { describeEarlyExit, describeEnd, VmStartError, type ChildEnd } from './errors.js';
import { buildQemuArgs, type Accel, type NinePShare, type VmDisk, type VmNic } from './qemu-args.js';
import { createShortPath } from '../unix-socket-path.js';
import { spawnSupervised, type SupervisedChild } from './supervisor.js';
import { tearDownVm, type VmParts } from './teardown.js';
import {
  defaultSandbox,
  findVirtiofsd,
  virtiofsdArgs,
  type VirtiofsdBinary,
  type VirtiofsdSandbox,
} from './virtiofsd.js';
import { findExecutable, lastLines, tailFile } from './files.js';
import { describeGuestCrash, findGuestCrash } from './guest-crash.js';

export interface VirtiofsShareSpec {
  tag: string;
  /** Host directory to share. */
  hostPath: string;
}

export interface VmStartConfig {
  /** The activity workdir: run/ and logs/ are created under it. */
  workdir: string;
  kernelPath: string;
  /** Omit to boot the kernel alone. */
  initrdPath?: string;
  accel: Accel;
  cpus: number;
  memBytes: number;
  disks?: VmDisk[];
  virtiofs?: VirtiofsShareSpec[];
  ninep?: NinePShare[];
  /** virtio-net NICs, in order; a `dgram-fd` backend's fd is OUR descriptor (QEMU inherits it as 3, 4, ...). */
  nics?: VmNic[];
  cmdlineExtra?: string[];
  /** Identified virtiofsd; found (PATH, /usr/libexec, /usr/lib/qemu) when omitted and `virtiofs` is non-empty. */
  virtiofsd?: VirtiofsdBinary;
  /** `--virtiofsd PATH`, used when `virtiofsd` is omitted. */
  virtiofsdPath?: string;
  virtiofsdSandbox?: VirtiofsdSandbox;
  /** Default: qemu-system-x86_64 from PATH. */
  qemuBinary?: string;
  /** Bound on waiting for each virtiofsd socket and for QEMU's agent socket (default 10 s each). */
  socketTimeoutMs?: number;
  /** SIGTERM -> SIGKILL delay for each child at stop (default 3 s). */
  stopGraceMs?: number;
  /**
   * Aborting while startVm runs cancels the start (nothing is left). It does nothing once startVm has returned: a
   * running VM is ended by stop(), or better by the guest powering off, never by a leftover boot signal.
   */
  signal?: AbortSignal;
  /** Called once QEMU has been spawned (before its agent socket is up): `start` loads what it needs only later
   * then, while the guest boots (src/cli/start.ts). */
  onQemuSpawned?: () => void;
}

export interface VmExit {
  code: number | null;
  signal: string | null;
  /** True when stop() (or the abort signal) ended QEMU. */
  stopped: boolean;
  /** "QEMU exited with code 0" / "QEMU was killed by SIGKILL". */
  description: string;
  /** QEMU's last stderr line (logs/qemu.log), if any. */
  qemuSaid?: string;
  /** The last line of the serial console, if any. */
  consoleLine?: string;
  /** The first line of a guest kernel oops or panic in the console (guest-crash.ts), when the guest crashed. */
  guestCrash?: string;
}

/**
 * The error for a VM that ended before it was usable, from the facts of its exit:
 * `vmExitError(exit, 'before the guest connected')` -> "QEMU exited with code 1 before the guest connected; QEMU said:
 * ...; last console line: ...". startVm only knows that QEMU's socket accepted a connection; a QEMU that fails
 * right after (e.g. an unreadable kernel) is reported this way by whoever waits for the guest handshake.
 */
export function vmExitError(exit: VmExit, when: string): VmStartError {
  const msg = describeEarlyExit('QEMU', exit, when, {
    ...(exit.qemuSaid ? { stderrLine: exit.qemuSaid } : {}),
    ...(exit.consoleLine ? { consoleLine: exit.consoleLine } : {}),
  });
  return new VmStartError('QEMU_EXITED_EARLY', msg);
}

export interface VmHandle {
  /** Connected to QEMU's `yagent` chardev; the guest reads it once init opens the port. */
  readonly agent: net.Socket;
  readonly accel: Accel;
  /** Resolves (never rejects) once QEMU has exited and its output settled. */
  readonly exited: Promise<VmExit>;
  /** Live children: QEMU first, then each virtiofsd. */
  pids(): number[];
  /** Tears everything down (see the header). Idempotent; rejects with VmStopError if a process outlived SIGKILL. */
  stop(): Promise<void>;
  /**
   * Says the guest was asked to power off. From then on a virtiofsd that ends is expected (the C one exits once
   * the guest unmounts its share), not a failure that stops the VM under the guest's final sync.
   */
  guestStopping(): void;
  /** The last `n` lines of the serial console. */
  consoleTail(n: number): Promise<string>;
  readonly consoleLogPath: string;
}

const AGENT_SOCKET = 'agent.sock';
/** How much of the console end is searched for a crash: an oops report is a few KiB. */
const CRASH_SCAN_BYTES = 256 * 1024;

export async function startVm(cfg: VmStartConfig, log: Logger): Promise<VmHandle> {
  const vlog = log.child({ vm: path.basename(cfg.workdir) });
  const runDir = path.join(cfg.workdir, 'run');
  const logDir = path.join(cfg.workdir, 'logs');
  await fs.mkdir(runDir, { recursive: true, mode: 0o700 });
  await fs.mkdir(logDir, { recursive: true });
  const consoleLogPath = path.join(logDir, 'console.log');
  const socketTimeoutMs = cfg.socketTimeoutMs ?? 10_000;
  const grace = cfg.stopGraceMs ?? 3000;

  const parts: VmParts = { helpers: [], sockets: [], short: await createShortPath(runDir) };
  const { helpers, sockets, short } = parts;
  let stopRequested = false;
  let teardown: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopRequested = true;
    teardown ??= tearDownVm(parts, grace, vlog);
    return teardown;
  };

  const failStart = async (err: unknown): Promise<never> => {
    parts.agent?.destroy();
    await stop().catch((e: unknown) => vlog.error({ err: e }, 'teardown after failed start'));
    throw err;
  };

  const checkAbort = (): void => {
    if (cfg.signal?.aborted) throw new VmStartError('VM_START_ABORTED', 'VM start was cancelled');
  };
  try {
    checkAbort();
    // 0. stale sockets (and the Rust virtiofsd's `<socket>.pid`) from an earlier start of this workdir would make
    // QEMU or virtiofsd fail with EADDRINUSE.
    for (const f of await fs.readdir(runDir)) {
      if (f.endsWith('.sock') || f.endsWith('.sock.pid')) await fs.rm(path.join(runDir, f), { force: true });
    }

    // Files QEMU would otherwise fail on after its socket is up (so the failure would surface later, less clearly).
    await checkReadable([
      ['guest kernel', cfg.kernelPath],
      ...(cfg.initrdPath === undefined ? [] : ([['guest initramfs', cfg.initrdPath]] as [string, string][])),
      ...(cfg.disks ?? []).map((d): [string, string] => [`disk ${d.serial}`, d.path]),
      ...(cfg.virtiofs ?? []).map((v): [string, string] => [`share ${v.tag}`, v.hostPath]),
      ...(cfg.ninep ?? []).map((v): [string, string] => [`share ${v.tag}`, v.hostPath]),
    ]);
    // A share must be a folder. QEMU's C virtiofsd refuses anything else at once; the Rust one starts, and fails
    // only when the guest connects, which the guest would see as a dead volume.
    await checkDirectories(
      [...(cfg.virtiofs ?? []), ...(cfg.ninep ?? [])].map((v): [string, string] => [`share ${v.tag}`, v.hostPath]),
    );

    // 1. virtiofsd, one per share, all started at once (each takes tens of ms to listen; QEMU needs every socket).
    const shares = cfg.virtiofs ?? [];
    const vfs =
      shares.length > 0
        ? (cfg.virtiofsd ?? (await findVirtiofsd(cfg.virtiofsdPath ? { explicitPath: cfg.virtiofsdPath } : {})))
        : undefined;
    const vfsSockets: { tag: string; socketPath: string }[] = [];
    const listening: Promise<void>[] = [];
    for (const [i, share] of shares.entries()) {
      if (!vfs) break;
      const name = `vfs${i}.sock`;
      const socketPath = short.socket(name);
      sockets.push(path.join(runDir, name));
      const sandbox = cfg.virtiofsdSandbox ?? defaultSandbox(vfs.kind, process.getuid?.() === 0);
      const child = spawnSupervised(
        {
          name: `virtiofsd-${i}`,
          file: vfs.path,
          args: virtiofsdArgs(vfs.kind, { socketPath, sharedDir: share.hostPath, sandbox }),
          logDir,
        },
        vlog,
      );
      helpers.push(child);
      const up = waitForSocket(path.join(runDir, name), child, socketTimeoutMs, `virtiofsd for share ${share.tag}`);
      up.catch(() => undefined); // awaited below; this keeps a failure unhandled-safe should the loop itself throw
      listening.push(up);
      vfsSockets.push({ tag: share.tag, socketPath });
    }
    await Promise.all(listening);
    checkAbort();

    // 2. QEMU.
    const qemuFile = cfg.qemuBinary ?? findExecutable('qemu-system-x86_64');
    if (!qemuFile)
      throw new VmStartError('QEMU_NOT_FOUND', 'qemu-system-x86_64 not found in PATH: install qemu-system-x86');
    // Descriptors QEMU inherits: ours become 3, 4, ... in the child.
    const passFds: number[] = [];
    const qemuNics = (cfg.nics ?? []).map((n): VmNic => {
      if (n.backend.kind !== 'dgram-fd') return n;
      passFds.push(n.backend.fd);
      return { ...n, backend: { kind: 'dgram-fd', fd: 2 + passFds.length } };
    });
    const agentPath = short.socket(AGENT_SOCKET);
    sockets.push(path.join(runDir, AGENT_SOCKET));
    const args = buildQemuArgs({
      accel: cfg.accel,
      cpus: cfg.cpus,
      memBytes: cfg.memBytes,
      kernelPath: cfg.kernelPath,
      ...(cfg.initrdPath === undefined ? {} : { initrdPath: cfg.initrdPath }),
      ...(cfg.cmdlineExtra === undefined ? {} : { cmdlineExtra: cfg.cmdlineExtra }),
      consoleLogPath,
      agentSocketPath: agentPath,
      disks: cfg.disks ?? [],
      virtiofs: vfsSockets,
      ninep: cfg.ninep ?? [],
      nics: qemuNics,
    });
    await fs.writeFile(consoleLogPath, '');
    const q = spawnSupervised({ name: 'qemu', file: qemuFile, args, logDir, passFds }, vlog);
    parts.qemu = q;
    cfg.onQemuSpawned?.();

    // 3. the agent socket.
    const agent = await connectAgent(agentPath, q, socketTimeoutMs, consoleLogPath);
    parts.agent = agent;
    // The guest client adds its own listeners later; this one keeps a reset connection (QEMU killed, also by a start
    // cancelled right here) from becoming an uncaught 'error' event.
    agent.on('error', (err) => vlog.debug({ err }, 'agent socket error'));
    checkAbort();
    vlog.info({ accel: cfg.accel, pids: [q.pid, ...helpers.map((h) => h.pid)] }, 'VM started');
  } catch (err) {
    return failStart(err);
  }

  // Both were set by the try block above, or failStart threw.
  const q = parts.qemu!;
  const agent = parts.agent!;
  /** Set when a helper died under a running VM (the reason the VM was then stopped). */
  let helperFailure: string | undefined;
  let guestStopping = false;
  /** Read once QEMU or a helper ended: a crashed guest is the reason, whichever process noticed first. */
  const readGuestCrash = async (): Promise<string | undefined> =>
    findGuestCrash(await tailFile(consoleLogPath, CRASH_SCAN_BYTES));
  const exited: Promise<VmExit> = q.ended.then(async (end) => {
    const guestCrash = await readGuestCrash();
    const description = guestCrash
      ? describeGuestCrash(guestCrash)
      : helperFailure
        ? `${helperFailure}, so the VM was stopped`
        : `QEMU ${describeEnd(end)}`;
    const exit: VmExit = {
      code: end.code,
      signal: end.signal,
      stopped: stopRequested && !helperFailure && !guestCrash,
      description,
    };
    const qemuSaid = lastLines(await tailFile(q.logPath, 16 * 1024), 1)[0];
    const consoleLine = lastLines(await tailFile(consoleLogPath, 16 * 1024), 1)[0];
    if (qemuSaid) exit.qemuSaid = qemuSaid;
    if (consoleLine) exit.consoleLine = consoleLine;
    if (guestCrash) {
      exit.guestCrash = guestCrash;
      vlog.error({ console: consoleLogPath }, describeGuestCrash(guestCrash));
    }
    vlog.info({ code: end.code, signal: end.signal, stopped: exit.stopped }, exit.description);
    // QEMU gone (guest shutdown, panic, crash, kill): nothing else of this VM may outlive it.
    stop().catch((err: unknown) => vlog.error({ err }, 'teardown after QEMU exit'));
    return exit;
  });
  // A virtiofsd that dies under a running VM leaves its volume's FUSE requests unanswered for ever: every guest
  // process touching the volume would hang. vhost-user-fs cannot reconnect, so the VM is stopped and the failure
  // reported (running commands end with an error naming it) instead.
  for (const h of helpers) {
    void h.ended.then(async (end) => {
      if (stopRequested) return;
      if (guestStopping)
        return void vlog.info(
          { child: h.name, code: end.code, signal: end.signal },
          `${h.name} ended during the guest's shutdown`,
        );
      // A guest that crashed takes QEMU down, and the virtiofsd with it: that exit is a consequence, not the cause.
      if (await readGuestCrash())
        return void vlog.info(
          { child: h.name, code: end.code, signal: end.signal },
          `${h.name} ended after the guest crashed`,
        );
      if (stopRequested) return;
      helperFailure = `${h.name} ${describeEnd(end)} while the VM ran`;
      vlog.error({ child: h.name, code: end.code, signal: end.signal }, `${helperFailure}; stopping the VM`);
      stop().catch((err: unknown) => vlog.error({ err }, 'teardown after a helper died'));
    });
  }

  return {
    agent,
    accel: cfg.accel,
    exited,
    consoleLogPath,
    pids: () => [q, ...helpers].filter((c) => c.running()).map((c) => c.pid),
    stop,
    guestStopping: () => void (guestStopping = true),
    consoleTail: async (n: number) => lastLines(await tailFile(consoleLogPath, 64 * 1024), n).join('\n'),
  };
}

async function checkReadable(files: [string, string][]): Promise<void> {
  for (const [what, file] of files) {
    try {
      await fs.access(file, fsConstants.R_OK);
    } catch (err) {
      throw new VmStartError(
        'VM_FILE_MISSING',
        `cannot start the VM: ${what} ${file} is not readable (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        { cause: err },
      );
    }
  }
}

async function checkDirectories(dirs: [string, string][]): Promise<void> {
  for (const [what, dir] of dirs) {
    const st = await fs.stat(dir).catch((err: unknown) => {
      throw new VmStartError(
        'VM_FILE_MISSING',
        `cannot start the VM: ${what} ${dir} is not readable (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        { cause: err },
      );
    });
    if (!st.isDirectory())
      throw new VmStartError('VM_SHARE_NOT_A_DIRECTORY', `cannot start the VM: ${what} ${dir} is not a directory`);
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Waits until `file` is a socket; fails early when `child` ends first. */
async function waitForSocket(file: string, child: SupervisedChild, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fs.stat(file)).isSocket()) return;
    } catch {
      // not there yet
    }
    if (!child.running()) {
      const end = await child.ended;
      const said = lastLines(await tailFile(child.logPath, 16 * 1024), 1)[0];
      throw new VmStartError(
        'VIRTIOFSD_EXITED',
        `${what} ${describeEnd(end)} before its socket appeared${said ? `; it said: ${said}` : ''}`,
      );
    }
    if (Date.now() >= deadline) {
      throw new VmStartError(
        'VIRTIOFSD_SOCKET_TIMEOUT',
        `${what} did not create its socket ${file} within ${timeoutMs} ms`,
      );
    }
    await sleep(10);
  }
}

function tryConnect(p: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p);
    const onErr = (err: Error): void => {
      s.destroy();
      reject(err);
    };
    s.once('error', onErr);
    s.once('connect', () => {
      s.off('error', onErr);
      resolve(s);
    });
  });
}

async function earlyExitError(q: SupervisedChild, end: ChildEnd, consoleLogPath: string): Promise<VmStartError> {
  const stderrLine = lastLines(await tailFile(q.logPath, 16 * 1024), 1)[0];
  const consoleLine = lastLines(await tailFile(consoleLogPath, 16 * 1024), 1)[0];
  const msg = describeEarlyExit('QEMU', end, 'before the agent socket was ready', {
    ...(stderrLine ? { stderrLine } : {}),
    ...(consoleLine ? { consoleLine } : {}),
  });
  return new VmStartError('QEMU_EXITED_EARLY', msg);
}

/** Connects to QEMU's agent chardev, retrying while it does not exist yet; fails early when QEMU ends. */
async function connectAgent(
  p: string,
  q: SupervisedChild,
  timeoutMs: number,
  consoleLogPath: string,
): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!q.running()) throw await earlyExitError(q, await q.ended, consoleLogPath);
    try {
      return await tryConnect(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        // QEMU leaves its socket behind when it fails during init: a refused or reset connection may mean it is gone.
        const ended = await Promise.race([q.ended, sleep(200).then(() => undefined)]);
        if (ended) throw await earlyExitError(q, ended, consoleLogPath);
      }
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') {
        throw new VmStartError(
          'AGENT_CONNECT_FAILED',
          `cannot connect to QEMU's agent socket ${p}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    if (Date.now() >= deadline) {
      if (!q.running()) throw await earlyExitError(q, await q.ended, consoleLogPath);
      throw new VmStartError('AGENT_SOCKET_TIMEOUT', `QEMU did not open its agent socket ${p} within ${timeoutMs} ms`);
    }
    await sleep(10);
  }
}
