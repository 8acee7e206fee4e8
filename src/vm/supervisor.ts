/**
 * Supervision of long-lived children (QEMU, virtiofsd). Every child:
 *  - is started as `setpriv --pdeathsig KILL -- <file> <args>`: setpriv sets PR_SET_PDEATHSIG and execs the program
 *    in place (same pid), so the kernel SIGKILLs it when we die, even when we are SIGKILLed and our exit hook
 *    never runs;
 *  - stays in our process group (never `detached`): yagna measures an activity's CPU over the runtime's group;
 *  - is SIGTERMed by an exit hook when we exit normally (`cleanup`), and on `cancelSignal` SIGTERMed, then SIGKILLed
 *    after `forceKillAfterDelayMs`;
 *  - writes stdout and stderr straight into `<logDir>/<name>.log` (a file descriptor handed to the child, opened for
 *    append): nothing is buffered in our memory, and the log survives us;
 *  - is ended only when it has exited (its 'close'), reported as a ChildEnd with code or signal.
 * Plain node:child_process, not execa: QEMU's spawn is on every activity's start path, and loading execa cost it
 * more than the spawn (docs/benchmarks.md, Start path).
 * The supervisor does not decide teardown order; vm.ts does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { ChildEnd } from './errors.js';
import { findExecutable } from './files.js';

export type { ChildEnd } from './errors.js';

export interface ChildSpec {
  /** Short name for logs and the log file (`<logDir>/<name>.log`). */
  name: string;
  /** Absolute path of the program. */
  file: string;
  args: readonly string[];
  logDir: string;
  /** SIGTERM on abort, then SIGKILL after `forceKillAfterDelayMs`. */
  cancelSignal?: AbortSignal;
  /** Delay between SIGTERM and SIGKILL when execa terminates the child (default 3000 ms). */
  forceKillAfterDelayMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Our descriptors the child inherits as 3, 4, ... in this order (setpriv keeps them open across its exec). */
  passFds?: readonly number[];
}

export interface SupervisedChild {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves (never rejects) once the child exited and its stdio settled. */
  readonly ended: Promise<ChildEnd>;
  /** True until `ended` settles. */
  running(): boolean;
  /** Sends a signal; false when the child is already gone. */
  kill(signal?: NodeJS.Signals): boolean;
  /** SIGTERM, then SIGKILL if it has not ended after `graceMs`; resolves with its end. */
  terminate(graceMs: number): Promise<ChildEnd>;
}

/** Where setpriv lives (util-linux); resolved once. */
let setprivPath: string | undefined;
export function findSetpriv(): string {
  setprivPath ??= findExecutable('setpriv', { PATH: `${process.env['PATH'] ?? ''}:/usr/bin:/bin` });
  if (!setprivPath)
    throw new Error('setpriv not found in PATH: install util-linux (it ties helper processes to our lifetime)');
  return setprivPath;
}

/** Live children, SIGTERMed when this process exits normally (execa's `cleanup`). */
const live = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  live.add(child);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGTERM');
  });
}

export function spawnSupervised(spec: ChildSpec, log: Logger): SupervisedChild {
  fs.mkdirSync(spec.logDir, { recursive: true });
  const logPath = path.join(spec.logDir, `${spec.name}.log`);
  const fd = fs.openSync(logPath, 'a', 0o640);
  let sub: ChildProcess;
  try {
    // stdout and stderr to the log, then the passed descriptors as 3, 4, ...; our argv and env go through
    // unchanged (no shell).
    sub = spawn(findSetpriv(), ['--pdeathsig', 'KILL', '--', spec.file, ...spec.args], {
      stdio: ['ignore', fd, fd, ...(spec.passFds ?? [])],
      ...(spec.env === undefined ? {} : { env: spec.env }),
    });
  } finally {
    // The child holds its own copy of the descriptor.
    fs.closeSync(fd);
  }
  const child = sub;
  track(child);
  const settled = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: unknown }>((resolve) => {
    let spawnError: unknown;
    child.once('error', (err) => {
      spawnError = err;
      // A child that never started emits no 'close' when it has no stdio pipes to close.
      if (child.pid === undefined) resolve({ code: null, signal: null, error: err });
    });
    child.once('close', (code, signal) =>
      resolve({ code, signal, ...(spawnError !== undefined ? { error: spawnError } : {}) }),
    );
  }).finally(() => live.delete(child));
  const cancel = spec.cancelSignal;
  if (cancel) {
    const onAbort = (): void => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), spec.forceKillAfterDelayMs ?? 3000);
      void settled.then(() => clearTimeout(t));
    };
    if (cancel.aborted) onAbort();
    else {
      cancel.addEventListener('abort', onAbort, { once: true });
      void settled.then(() => cancel.removeEventListener('abort', onAbort));
    }
  }
  const pid = child.pid ?? -1;
  const clog = log.child({ child: spec.name, pid });
  let done = false;
  const ended: Promise<ChildEnd> = settled.then(
    (r) => {
      done = true;
      const end: ChildEnd = { name: spec.name, pid, code: r.signal ? null : r.code, signal: r.signal };
      if (r.error !== undefined && r.code === null && !r.signal) end.error = r.error;
      clog.info({ code: end.code, signal: end.signal }, `${spec.name} ended`);
      return end;
    },
    (err: unknown) => {
      done = true;
      clog.error({ err }, `${spec.name} could not be waited for`);
      return { name: spec.name, pid, code: null, signal: null, error: err };
    },
  );
  clog.info({ file: spec.file, args: spec.args, logPath }, `${spec.name} started`);

  const kill = (signal: NodeJS.Signals = 'SIGTERM'): boolean => {
    if (done || pid <= 0) return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  };

  return {
    name: spec.name,
    pid,
    logPath,
    ended,
    running: () => !done,
    kill,
    async terminate(graceMs: number): Promise<ChildEnd> {
      if (!done) {
        kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), graceMs);
        });
        const first = await Promise.race([ended, late]);
        clearTimeout(timer);
        if (first === 'late') {
          clog.warn({ graceMs }, `${spec.name} ignored SIGTERM; sending SIGKILL`);
          kill('SIGKILL');
        }
      }
      return ended;
    },
  };
}

/** True while a live process has this pid. A zombie (exited, not yet reaped) has an empty cmdline and counts as gone. */
export function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`).length > 0;
  } catch {
    return false;
  }
}

/** The process's start time (clock ticks since boot, /proc/<pid>/stat field 22): with the pid, its identity. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Polls until none of `pids` is alive (and, if given, `same`: still the process we mean) or `timeoutMs` passed; returns the ones still alive. */
export async function waitPidsGone(
  pids: readonly number[],
  timeoutMs: number,
  same: (pid: number) => boolean = () => true,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((p) => pidAlive(p) && same(p));
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every live descendant of `roots` (children, grandchildren...), read from /proc/<pid>/stat. */
export function descendantsOf(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(d));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const c of children.get(p) ?? []) {
      if (!out.includes(c)) {
        out.push(c);
        queue.push(c);
      }
    }
  }
  return out;
}
