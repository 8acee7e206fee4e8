/**
 * Unix socket addresses hold at most 107 bytes of path (src/unix-socket-path.ts). Provider workdirs are often
 * longer, so `start` and `run` bind/connect through the shortest name of the same file: the absolute path if it
 * fits, else the path relative to the current directory. When neither fits, `shortAddress` goes through a short
 * symlink to the socket's folder (createShortPath); `bindablePath` alone fails with a clear
 * error instead of letting the kernel truncate the name. Other file operations (lstat, chmod, unlink) use the full
 * path, which has no such limit.
 */
import path from 'node:path';
import { createShortPath, MAX_SOCKET_PATH_BYTES, SocketPathError, socketPathFits } from '../unix-socket-path.js';

/** The control socket of an activity: `<workdir>/control.sock`, served by `start`, used by `run`. */
export const CONTROL_SOCKET = 'control.sock';

export function controlSocketPath(workdir: string): string {
  return path.join(workdir, CONTROL_SOCKET);
}

/** A name for `socketPath` short enough for bind()/connect(); throws SocketPathError if there is none. */
export function bindablePath(socketPath: string, cwd: string = process.cwd()): string {
  const absolute = path.resolve(cwd, socketPath);
  if (socketPathFits(absolute)) return absolute;
  const relative = path.relative(cwd, absolute);
  if (socketPathFits(relative)) return relative.includes('/') ? relative : `./${relative}`;
  throw new SocketPathError(
    'CONTROL_SOCKET_PATH_TOO_LONG',
    `control socket path is ${Buffer.byteLength(absolute)} bytes, over the unix socket limit of ` +
      `${MAX_SOCKET_PATH_BYTES}, and not reachable by a short relative path: ${absolute}`,
  );
}

/**
 * A connectable/bindable address for `socketPath` for the duration of one bind or connect: `bindablePath` when it
 * fits, else a short symlink to the socket's folder (src/unix-socket-path.ts), released by the caller once the bind or
 * connect is done (the socket file itself lives in the real folder).
 */
export async function shortAddress(socketPath: string): Promise<{ address: string; release: () => Promise<void> }> {
  try {
    return { address: bindablePath(socketPath), release: async () => {} };
  } catch (err) {
    if (!(err instanceof SocketPathError)) throw err;
    const short = await createShortPath(path.dirname(path.resolve(socketPath)));
    return { address: short.socket(path.basename(socketPath)), release: () => short.dispose() };
  }
}
