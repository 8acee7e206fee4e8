/**
 * The control socket of `start`: a unix socket (mode 0600) at `<workdir>/control.sock` serving the JSON-RPC protocol
 * of protocol.ts, one ClientSession (session.ts) per connected client.
 *
 * Start:  1. find a bindable name for the path (socket-path.ts: at most 107 bytes);
 *         2. a file already there: if it is a socket and someone answers on it, fail ("another start is serving this
 *            workdir"); if nobody answers, it is stale and is removed; anything else than a socket is left alone and
 *            is an error;
 *         3. listen with umask 0177 (so the socket is never connectable by others, not even briefly), then chmod 0600.
 * Close:  stop accepting, end every client (their unfinished processes are SIGKILLed by their sessions), remove the
 *         socket file if it is still ours (same inode). close() does not shut the activity down; the caller does.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import type { ActivityApi } from '../activity-api.js';
import { errorChain } from '../errors.js';
import { ControlSocketError } from './errors.js';
import { ClientSession } from './session.js';
import { shortAddress } from './socket-path.js';

const PROBE_TIMEOUT_MS = 1000;

export interface ControlServerOptions {
  /** Where to serve; must resolve to at most 107 bytes absolute or relative to the cwd (see socket-path.ts). */
  socketPath: string;
  activity: ActivityApi;
  log: Logger;
  /** Called (once per request) after a client's `shutdown` request was answered. */
  onShutdownRequested: () => void | Promise<void>;
}

export interface ControlServer {
  readonly socketPath: string;
  /** Stops serving, disconnects clients, removes the socket file. Idempotent. */
  close(): Promise<void>;
}

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const { socketPath, activity, log, onShutdownRequested } = opts;
  const sessions = new Set<ClientSession>();
  const server = net.createServer((socket) => {
    const session = new ClientSession(socket, { activity, log, onShutdownRequested });
    sessions.add(session);
    void session.closed.then(() => sessions.delete(session));
    log.debug({ clients: sessions.size }, 'control: client connected');
  });
  const { address, release } = await shortAddress(socketPath);
  try {
    await removeStaleSocket(socketPath, address);
    await listenPrivately(server, address, socketPath);
  } finally {
    await release();
  }
  fs.chmodSync(socketPath, 0o600);
  const inode = fs.statSync(socketPath).ino;
  log.info({ socket: socketPath }, 'control: serving');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...sessions].map((s) => s.close()));
      await stopped;
      try {
        if (fs.statSync(socketPath).ino === inode) fs.unlinkSync(socketPath);
      } catch {
        // already gone
      }
      log.debug('control: closed');
    })());
  return { socketPath, close };
}

async function listenPrivately(server: net.Server, address: string, socketPath: string): Promise<void> {
  let oldMask: number | undefined;
  try {
    oldMask = process.umask(0o177);
  } catch {
    // not allowed in worker threads; chmod below still applies
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // For a path, bind() happens synchronously inside listen(), i.e. under the umask above.
      server.listen(address, () => {
        server.off('error', reject);
        resolve();
      });
      if (oldMask !== undefined) {
        process.umask(oldMask);
        oldMask = undefined;
      }
    });
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    throw new ControlSocketError(
      inUse ? 'CONTROL_SOCKET_IN_USE' : 'CONTROL_SOCKET_LISTEN',
      inUse
        ? `another start is serving this workdir (${socketPath} is in use)`
        : `cannot listen on control socket ${socketPath}: ${errorChain(err)}`,
      { cause: err },
    );
  } finally {
    if (oldMask !== undefined) process.umask(oldMask);
  }
}

/** Removes `socketPath` if it is a socket nobody answers on; fails if somebody does or if it is not a socket. */
async function removeStaleSocket(socketPath: string, address: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ControlSocketError('CONTROL_SOCKET_STAT', `cannot inspect ${socketPath}: ${errorChain(err)}`, {
      cause: err,
    });
  }
  if (!stat.isSocket()) {
    throw new ControlSocketError(
      'CONTROL_SOCKET_NOT_SOCKET',
      `${socketPath} exists and is not a socket; not removing it`,
    );
  }
  const answer = await probe(address);
  if (answer === 'alive') {
    throw new ControlSocketError(
      'CONTROL_SOCKET_IN_USE',
      `another start is serving this workdir (${socketPath} answers)`,
    );
  }
  if (answer !== 'dead') {
    throw new ControlSocketError('CONTROL_SOCKET_PROBE', `cannot probe ${socketPath}: ${errorChain(answer)}`, {
      cause: answer,
    });
  }
  fs.unlinkSync(socketPath);
}

/** 'alive' if something accepts a connection (or does not refuse within the timeout), 'dead' if refused. */
function probe(address: string): Promise<'alive' | 'dead' | Error> {
  return new Promise((resolve) => {
    const socket = net.connect(address);
    const done = (result: 'alive' | 'dead' | Error): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('alive'), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done('alive'));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'dead' : err),
    );
  });
}
