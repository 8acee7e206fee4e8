/**
 * Unix socket paths: the one place that knows the 107-byte limit, and short paths for sockets in deep folders.
 * A shared leaf: the VM layer (QEMU's and virtiofsd's sockets) and the control socket both use it.
 * `sun_path` holds 108 bytes including the NUL, so a socket path is at most 107 bytes
 * (vscode-jsonrpc node/main.ts `safeIpcPathLengths`), while provider workdirs are often 150+ bytes deep.
 *
 * Lifecycle: `createShortPath(target)` makes a fresh private directory (`mkdtemp`, mode 0700) under a short base
 * (/run/ya-runtime-vm as root, else the temp dir) holding one symlink `r` -> `target`. Sockets are bound and
 * connected through `<short>/r/<name>` but physically live in `target` (the workdir's `run/`), so everything the
 * activity owns stays under its workdir. `dispose()` removes the symlink and the private directory; it does NOT
 * remove `target` or the sockets in it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RuntimeError } from './errors.js';

/** Longest unix socket path Linux accepts (sizeof(sun_path) - 1). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Codes of SocketPathError (exit code 5). CONTROL_SOCKET_PATH_TOO_LONG: control/socket-path.ts. */
export const SOCKET_PATH_ERROR_CODES = [
  'SOCKET_PATH_TOO_LONG',
  'SOCKET_DIR_FAILED',
  'CONTROL_SOCKET_PATH_TOO_LONG',
] as const;
export type SocketPathErrorCode = (typeof SOCKET_PATH_ERROR_CODES)[number];

/** A unix socket path cannot be made short enough. */
export class SocketPathError extends RuntimeError {
  constructor(code: SocketPathErrorCode, message: string) {
    super(code, message);
  }
}

export function socketPathFits(p: string): boolean {
  return Buffer.byteLength(p) <= MAX_SOCKET_PATH_BYTES;
}

export interface ShortPath {
  /** The short directory that resolves to `target` (a symlink). */
  readonly dir: string;
  /** The directory the sockets really live in. */
  readonly target: string;
  /** `<dir>/<name>`; throws SocketPathError when even that exceeds 107 bytes. */
  socket(name: string): string;
  /** Removes the symlink and its private directory. Idempotent. Does NOT touch `target`. */
  dispose(): Promise<void>;
}

/** Candidate bases, shortest-lived-namespace first: /run is a tmpfs no tmp cleaner touches. */
export function shortBases(env: NodeJS.ProcessEnv = process.env, isRoot = process.getuid?.() === 0): string[] {
  const bases: string[] = [];
  if (isRoot) bases.push('/run/ya-runtime-vm');
  const xdg = env['XDG_RUNTIME_DIR'];
  if (!isRoot && xdg) bases.push(path.join(xdg, 'ya-runtime-vm'));
  bases.push(os.tmpdir(), '/tmp');
  return bases;
}

/** Leaves room for a socket name of this many bytes after `<dir>/`. */
const NAME_ROOM = 40;

export async function createShortPath(target: string, opts: { bases?: string[] } = {}): Promise<ShortPath> {
  const absTarget = path.resolve(target);
  const errors: string[] = [];
  for (const base of opts.bases ?? shortBases()) {
    // base + "/yavm-XXXXXX" + "/r" + "/" + name
    if (Buffer.byteLength(base) + 12 + 2 + 1 + NAME_ROOM > MAX_SOCKET_PATH_BYTES) {
      errors.push(`${base}: too long`);
      continue;
    }
    try {
      await fs.mkdir(base, { recursive: true, mode: 0o755 });
      await sweepDangling(base);
      const priv = await fs.mkdtemp(path.join(base, 'yavm-'));
      const link = path.join(priv, 'r');
      await fs.symlink(absTarget, link);
      return makeHandle(priv, link, absTarget);
    } catch (err) {
      errors.push(`${base}: ${(err as Error).message}`);
    }
  }
  throw new SocketPathError(
    'SOCKET_DIR_FAILED',
    `cannot create a short socket directory for ${absTarget}: ${errors.join('; ')}`,
  );
}

/**
 * Removes `yavm-*` directories whose symlink points nowhere: left by a runtime that was SIGKILLed (no dispose) once
 * its workdir was deleted. A link whose target exists may be in use and is left alone. Best effort.
 */
async function sweepDangling(base: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(base);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith('yavm-')) continue;
    const link = path.join(base, n, 'r');
    // Only a link that exists and dangles: an empty dir may be another process between mkdtemp and symlink.
    const isLink = await fs.lstat(link).then(
      (st) => st.isSymbolicLink(),
      () => false,
    );
    if (!isLink) continue;
    const dangles = await fs.stat(link).then(
      () => false,
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
    if (!dangles) continue;
    await fs.rm(link, { force: true }).catch(() => undefined);
    await fs.rmdir(path.join(base, n)).catch(() => undefined);
  }
}

function makeHandle(priv: string, link: string, target: string): ShortPath {
  let disposed: Promise<void> | undefined;
  return {
    dir: link,
    target,
    socket(name: string): string {
      const p = path.join(link, name);
      if (!socketPathFits(p)) {
        throw new SocketPathError(
          'SOCKET_PATH_TOO_LONG',
          `unix socket path ${p} is ${Buffer.byteLength(p)} bytes, over the limit of ${MAX_SOCKET_PATH_BYTES}`,
        );
      }
      return p;
    },
    dispose(): Promise<void> {
      disposed ??= (async () => {
        await fs.rm(link, { force: true });
        await fs.rm(priv, { recursive: true, force: true });
      })();
      return disposed;
    },
  };
}
