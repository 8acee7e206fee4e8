/**
 * One client of the control socket: a vscode-jsonrpc connection whose requests become calls on the ActivityApi.
 *
 * Lifecycle of a `run`:
 *  1. params are validated (protocol.ts schemas); activity.exec gets a sink bound to this connection;
 *  2. output chunks reaching the sink before exec resolved wait for the pid, then go out as `output` notifications;
 *     each sink call resolves only once its notification was written to the socket (and the socket drained, if it
 *     had to), so the activity grants the guest more credit only as fast as this client reads;
 *  3. when the process's `exit` settles (after its last chunk was delivered), an `exit` notification follows.
 * When the connection closes, every process it started that has not ended is SIGKILLed (also one whose exec resolves
 * after the close), and sinks drop further output at once so those processes can drain and end.
 * close() ends the socket gently (pending replies are flushed) and destroys it after a grace period.
 */
import type net from 'node:net';
import { ResponseError, ErrorCodes, type MessageConnection } from 'vscode-jsonrpc/node';
import type * as z from '../schema.js';
import type { Logger } from 'pino';
import type { ActivityApi, ExitStatus, OutputSink, ProcessHandle } from '../activity-api.js';
import { ExecFailedError } from '../activity-errors.js';
import { RuntimeError, errorChain } from '../errors.js';
import {
  CloseStdinParamsSchema,
  CloseStdinRequest,
  ControlErrorCodes,
  ExitNotification,
  KillParamsSchema,
  KillRequest,
  MAX_CHUNK_BYTES,
  NoParamsSchema,
  OutputNotification,
  RunParamsSchema,
  RunRequest,
  ShutdownRequest,
  StatusRequest,
  StdinParamsSchema,
  StdinRequest,
  describeParamsError,
  type ErrorData,
  type ExitParams,
  type RunParams,
  type RunResult,
} from './protocol.js';
import { connectionForSocket } from './transport.js';
import { drainOf } from '../write-queue.js';

const SIGKILL = 9;
const CLOSE_GRACE_MS = 500;

export interface SessionDeps {
  activity: ActivityApi;
  log: Logger;
  onShutdownRequested: () => void | Promise<void>;
}

export class ClientSession {
  private readonly connection: MessageConnection;
  /** Processes started by this client whose exit has not settled yet. */
  private readonly running = new Map<number, ProcessHandle>();
  private disconnected = false;
  /** Resolves once the connection closed. */
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    private readonly deps: SessionDeps,
  ) {
    this.connection = connectionForSocket(socket, deps.log).connection;
    this.connection.onRequest((method, params) => this.dispatch(method, params));
    this.closed = new Promise((resolve) => {
      this.connection.onClose(() => {
        this.onDisconnect();
        resolve();
      });
    });
    this.connection.listen();
  }

  /** Ends the connection: flushes what is queued, then destroys the socket after a grace period. */
  async close(): Promise<void> {
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    await this.closed;
    clearTimeout(timer);
  }

  private async dispatch(method: string, params: unknown): Promise<unknown> {
    try {
      switch (method) {
        case RunRequest.method:
          return await this.run(parse(RunParamsSchema, method, params));
        case StdinRequest.method: {
          const p = parse(StdinParamsSchema, method, params);
          await this.owned(p.pid).writeStdin(Buffer.from(p.data, 'base64'));
          return null;
        }
        case CloseStdinRequest.method:
          await this.owned(parse(CloseStdinParamsSchema, method, params).pid).closeStdin();
          return null;
        case KillRequest.method: {
          const p = parse(KillParamsSchema, method, params);
          await this.deps.activity.kill(p.pid, p.signal);
          return null;
        }
        case StatusRequest.method:
          parse(NoParamsSchema, method, params);
          return this.deps.activity.status();
        case ShutdownRequest.method:
          parse(NoParamsSchema, method, params);
          this.deps.log.info('control: shutdown requested by a client');
          // After this reply is queued on the socket (all of its microtasks ran), not before.
          setImmediate(() => {
            Promise.resolve()
              .then(() => this.deps.onShutdownRequested())
              .catch((err: unknown) => this.deps.log.error({ err }, 'control: shutdown failed'));
          });
          return null;
        default:
          throw new ResponseError(ErrorCodes.MethodNotFound, `unknown method ${JSON.stringify(method)}`);
      }
    } catch (err) {
      const reply = toResponseError(err);
      this.deps.log.debug({ err, method }, `control: ${method} failed: ${reply.message}`);
      throw reply;
    }
  }

  private async run(params: RunParams): Promise<RunResult> {
    let pidKnown!: (pid: number | undefined) => void;
    const pid = new Promise<number | undefined>((resolve) => (pidKnown = resolve));
    const sink: OutputSink = {
      stdout: (chunk) => this.sendOutput(pid, 1, chunk),
      stderr: (chunk) => this.sendOutput(pid, 2, chunk),
    };
    const { bin, argv, workDir, env, stdin } = params;
    let handle: ProcessHandle;
    try {
      handle = await this.deps.activity.exec(
        {
          bin,
          argv,
          ...(workDir !== undefined && { workDir }),
          ...(env !== undefined && { env }),
          ...(stdin !== undefined && { stdin }),
        },
        sink,
      );
    } catch (err) {
      pidKnown(undefined);
      throw err;
    }
    pidKnown(handle.pid);
    this.deps.log.debug({ pid: handle.pid, cmd: argv }, 'control: process started');
    this.running.set(handle.pid, handle);
    void handle.exit.then(
      (status) => this.sendExit(exitParams(handle.pid, status)),
      (err: unknown) => this.sendExit({ pid: handle.pid, code: -1, signal: null, error: errorChain(err) }),
    );
    if (this.disconnected) this.killOrphan(handle.pid);
    return { pid: handle.pid };
  }

  private owned(pid: number): ProcessHandle {
    const handle = this.running.get(pid);
    if (!handle) {
      throw new ResponseError(ControlErrorCodes.UnknownProcess, `no running process ${pid} was started by this client`);
    }
    return handle;
  }

  private async sendOutput(pidKnown: Promise<number | undefined>, fd: 1 | 2, chunk: Uint8Array): Promise<void> {
    const pid = await pidKnown;
    if (pid === undefined) return;
    for (let off = 0; off < chunk.byteLength; off += MAX_CHUNK_BYTES) {
      if (this.disconnected) return; // nobody to deliver to: drop, so the process can drain and end
      const part = chunk.subarray(off, off + MAX_CHUNK_BYTES);
      const data = Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64');
      try {
        await this.connection.sendNotification(OutputNotification, { pid, fd, data });
      } catch {
        return; // connection closed under us; onDisconnect does the rest
      }
    }
    await this.drained();
  }

  private sendExit(params: ExitParams): void {
    this.running.delete(params.pid);
    this.deps.log.debug({ ...params }, 'control: process ended');
    if (this.disconnected) return;
    this.connection.sendNotification(ExitNotification, params).catch(() => undefined);
  }

  /** Resolves when the socket has no backlog in user space (or is gone). */
  private drained(): Promise<void> {
    const socket = this.socket;
    if (!socket.writableNeedDrain || socket.destroyed) return Promise.resolve();
    return drainOf(socket).then(() => {});
  }

  private onDisconnect(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    for (const pid of this.running.keys()) this.killOrphan(pid);
    this.connection.dispose();
  }

  private killOrphan(pid: number): void {
    this.deps.log.info({ pid }, 'control: client disconnected; killing its process');
    this.deps.activity.kill(pid, SIGKILL).catch((err: unknown) => {
      this.deps.log.debug({ err, pid }, 'control: kill after disconnect failed');
    });
  }
}

function parse<T extends z.ZodMiniType>(schema: T, method: string, params: unknown): z.infer<T> {
  const result = schema.safeParse(params);
  if (!result.success)
    throw new ResponseError(ControlErrorCodes.InvalidParams, describeParamsError(method, result.error));
  return result.data;
}

function exitParams(pid: number, status: ExitStatus): ExitParams {
  return { pid, code: status.code, signal: status.signal };
}

/** RuntimeError reply kinds map to codes; anything else is InternalError. The message is the error chain. */
export function toResponseError(err: unknown): ResponseError<ErrorData | void> {
  if (err instanceof ResponseError) return err as ResponseError<void>;
  const message = errorChain(err) || 'unknown error';
  if (err instanceof ExecFailedError)
    return new ResponseError<ErrorData>(ControlErrorCodes.NotFound, message, { startFailure: err.startFailure });
  if (err instanceof RuntimeError) {
    if (err.reply === 'not-found') return new ResponseError(ControlErrorCodes.NotFound, message);
    if (err.reply === 'bad-request') return new ResponseError(ControlErrorCodes.InvalidParams, message);
  }
  return new ResponseError(ControlErrorCodes.InternalError, message);
}
