/**
 * The `run` side of the control socket: connects to a live `start` and runs commands in its VM (protocol.ts).
 *
 * Output arrives as `output` notifications, which may come before the `run` reply that tells us their pid: they are
 * held per pid until the reply is in, then replayed in order. Handlers are called in arrival order; a handler that
 * returns a promise pauses reading from the socket until it settles, so a slow consumer (e.g. a blocked stdout)
 * slows the server, which slows the guest process. `run` resolves after the `exit` notification and after every
 * output handler of that process settled. If the connection closes first, `run` rejects with ControlClosedError.
 * close() does not kill anything itself: the server kills this client's unfinished processes when it sees us go.
 */
import net from 'node:net';
import os from 'node:os';
import type { Readable, Transform } from 'node:stream';
import {
  ConnectionError,
  ErrorCodes,
  ResponseError,
  type MessageConnection,
  type RequestParam,
  type RequestType,
  type RequestType0,
} from 'vscode-jsonrpc/node';
import type { Logger } from 'pino';
import type { ActivityStatus, ExecSpec, ExitStatus } from '../activity-api.js';
import { errorChain, type ReplyKind } from '../errors.js';
import { silentLogger } from '../log.js';
import { ControlClosedError, ControlError, ControlRequestError, ControlSocketError } from './errors.js';
import * as P from './protocol.js';
import { shortAddress } from './socket-path.js';
import { connectionForSocket } from './transport.js';

export interface RunIo {
  onStdout?: (chunk: Buffer) => void | Promise<void>;
  onStderr?: (chunk: Buffer) => void | Promise<void>;
  /** Called with the pid as soon as the process started (e.g. to forward Ctrl-C with kill()). */
  onStart?: (pid: number) => void;
  /** Forwarded to the process's stdin, which is closed at its end (implies `stdin: true`). Left paused, not
   * destroyed, once the process ended. */
  stdin?: Readable;
}

export interface ControlClient {
  run(spec: ExecSpec, io?: RunIo): Promise<ExitStatus>;
  writeStdin(pid: number, data: Uint8Array): Promise<void>;
  closeStdin(pid: number): Promise<void>;
  /** `signal`: a number or a name ("SIGTERM", "TERM"); default SIGTERM. */
  kill(pid: number, signal?: number | string): Promise<void>;
  status(): Promise<ActivityStatus>;
  /** Asks `start` to end the activity; resolves once it accepted. */
  shutdown(): Promise<void>;
  /** Closes the connection (idempotent). */
  close(): void;
}

type Event = { kind: 'output'; params: P.OutputParams } | { kind: 'exit'; params: P.ExitParams };

interface Proc {
  pid: number;
  io: RunIo;
  /** Handler promises not settled yet, and the tail of their chain. */
  pending: number;
  chain: Promise<void>;
  done: boolean;
  failure?: unknown;
  resolve(status: ExitStatus): void;
  reject(err: unknown): void;
}

export async function connectControl(socketPath: string, opts: { log?: Logger } = {}): Promise<ControlClient> {
  const { address, release } = await shortAddress(socketPath);
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(address);
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
  })
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        throw new ControlSocketError(
          'CONTROL_NOT_RUNNING',
          `no running \`start\` for this workdir (nothing listens on ${socketPath})`,
          { cause: err },
        );
      }
      throw new ControlSocketError(
        'CONTROL_CONNECT',
        `cannot connect to control socket ${socketPath}: ${errorChain(err)}`,
        { cause: err },
      );
    })
    .finally(release);
  return new Client(socket, opts.log ?? silentLogger());
}

class Client implements ControlClient {
  private readonly connection: MessageConnection;
  private readonly input: Transform;
  private readonly procs = new Map<number, Proc>();
  private readonly early = new Map<number, Event[]>();
  private paused = 0;
  private closed = false;
  /** Why we closed the connection ourselves, if we did because of a protocol error. */
  private closeReason?: ControlError;

  constructor(socket: net.Socket, log: Logger) {
    ({ connection: this.connection, input: this.input } = connectionForSocket(socket, log));
    this.connection.onNotification(P.OutputNotification.method, (params: unknown) => this.onEvent('output', params));
    this.connection.onNotification(P.ExitNotification.method, (params: unknown) => this.onEvent('exit', params));
    this.connection.onClose(() => this.onClosed());
    this.connection.listen();
  }

  async run(spec: ExecSpec, io: RunIo = {}): Promise<ExitStatus> {
    const params: P.RunParams = { bin: spec.bin, argv: spec.argv };
    if (spec.workDir !== undefined) params.workDir = spec.workDir;
    if (spec.env !== undefined) params.env = spec.env;
    if (io.stdin || spec.stdin) params.stdin = true;
    const { pid } = await this.request(P.RunRequest, params);
    return new Promise<ExitStatus>((resolve, reject) => {
      const proc: Proc = { pid, io, pending: 0, chain: Promise.resolve(), done: false, resolve, reject };
      this.procs.set(pid, proc);
      io.onStart?.(pid);
      for (const event of this.early.get(pid) ?? []) this.handle(proc, event);
      this.early.delete(pid);
      if (this.closed) this.fail(proc, this.closedError(pid));
      else if (io.stdin && !proc.done) this.pump(proc, io.stdin);
    });
  }

  async writeStdin(pid: number, data: Uint8Array): Promise<void> {
    for (let off = 0; off < data.byteLength || off === 0; off += P.MAX_CHUNK_BYTES) {
      const part = data.subarray(off, off + P.MAX_CHUNK_BYTES);
      await this.request(P.StdinRequest, {
        pid,
        data: Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64'),
      });
      if (data.byteLength === 0) break;
    }
  }

  async closeStdin(pid: number): Promise<void> {
    await this.request(P.CloseStdinRequest, { pid });
  }

  async kill(pid: number, signal: number | string = 'SIGTERM'): Promise<void> {
    await this.request(P.KillRequest, { pid, signal: signalNumber(signal) });
  }

  status(): Promise<ActivityStatus> {
    return this.request(P.StatusRequest);
  }

  async shutdown(): Promise<void> {
    await this.request(P.ShutdownRequest);
  }

  close(): void {
    this.onClosed();
  }

  private async request<R>(type: RequestType0<R, void>): Promise<R>;
  private async request<Q, R>(type: RequestType<Q, R, void>, params: Q): Promise<R>;
  private async request<Q, R>(type: RequestType<Q, R, void> | RequestType0<R, void>, params?: Q): Promise<R> {
    if (this.closed)
      throw (
        this.closeReason ??
        new ControlClosedError('CONTROL_CLOSED', `connection to \`start\` is closed (${type.method})`)
      );
    try {
      return params === undefined
        ? await this.connection.sendRequest(type as RequestType0<R, void>)
        : await this.connection.sendRequest(type as RequestType<Q, R, void>, params as RequestParam<Q>);
    } catch (err) {
      const transport = err instanceof ConnectionError || (err instanceof ResponseError && isTransportCode(err.code));
      if (err instanceof ResponseError && !transport) {
        const data = P.ErrorDataSchema.safeParse(err.data);
        throw new ControlRequestError(
          type.method,
          err.code,
          err.message,
          replyKind(err.code),
          data.success ? data.data.startFailure : undefined,
        );
      }
      if (this.closeReason) throw this.closeReason;
      if (this.closed || transport) {
        throw new ControlClosedError('CONTROL_CLOSED', `connection to \`start\` closed during ${type.method}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  private onEvent(kind: Event['kind'], raw: unknown): void {
    let event: Event;
    if (kind === 'output') {
      const parsed = P.OutputParamsSchema.safeParse(raw);
      if (!parsed.success) return this.malformed(P.describeParamsError(kind, parsed.error));
      event = { kind, params: parsed.data };
    } else {
      const parsed = P.ExitParamsSchema.safeParse(raw);
      if (!parsed.success) return this.malformed(P.describeParamsError(kind, parsed.error));
      event = { kind, params: parsed.data };
    }
    const proc = this.procs.get(event.params.pid);
    if (proc) this.handle(proc, event);
    else this.early.set(event.params.pid, [...(this.early.get(event.params.pid) ?? []), event]);
  }

  /** A notification that does not match protocol.ts: the peer is not a `start` we understand; give up. */
  private malformed(what: string): void {
    this.closeReason = new ControlError('CONTROL_BAD_MESSAGE', `malformed message from start: ${what}`);
    this.close();
  }

  private handle(proc: Proc, event: Event): void {
    if (proc.done) return;
    if (event.kind === 'exit') {
      proc.done = true;
      const { code, signal, error } = event.params;
      void proc.chain.then(() => {
        this.procs.delete(proc.pid);
        if (error !== undefined)
          proc.reject(new ControlError('CONTROL_PROCESS_FAILED', `process ${proc.pid}: ${error}`));
        else if (proc.failure !== undefined) proc.reject(proc.failure);
        else proc.resolve({ code, signal });
      });
      return;
    }
    const handler = event.params.fd === 1 ? proc.io.onStdout : proc.io.onStderr;
    if (!handler) return;
    const chunk = Buffer.from(event.params.data, 'base64');
    const call = (): void | Promise<void> => {
      try {
        return handler(chunk);
      } catch (err) {
        proc.failure ??= err;
      }
    };
    const result = proc.pending === 0 ? call() : proc.chain.then(call);
    if (!result || typeof (result as Promise<void>).then !== 'function') return;
    proc.pending++;
    if (this.paused++ === 0) this.input.pause();
    proc.chain = (result as Promise<void>)
      .catch((err: unknown) => void (proc.failure ??= err))
      .finally(() => {
        proc.pending--;
        if (--this.paused === 0 && !this.closed) this.input.resume();
      });
  }

  /** Forwards `stdin` chunk by chunk (each acknowledged before the next is read), then closes the process's stdin. */
  private pump(proc: Proc, stdin: Readable): void {
    const stop = (): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      stdin.pause();
    };
    const onData = (chunk: Buffer | string): void => {
      stdin.pause();
      this.writeStdin(proc.pid, typeof chunk === 'string' ? Buffer.from(chunk) : chunk).then(
        () => (proc.done || this.closed ? stop() : stdin.resume()),
        stop, // the process ended or closed its stdin: nothing more to send
      );
    };
    const onEnd = (): void => {
      stop();
      if (!proc.done && !this.closed) this.closeStdin(proc.pid).catch(() => undefined);
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onEnd);
    stdin.resume();
  }

  private fail(proc: Proc, err: unknown): void {
    if (proc.done) return;
    proc.done = true;
    this.procs.delete(proc.pid);
    proc.reject(err);
  }

  private closedError(pid: number): ControlError {
    return (
      this.closeReason ??
      new ControlClosedError('CONTROL_CLOSED', `connection to \`start\` closed before process ${pid} ended`)
    );
  }

  /** On close by either side: pending requests and runs fail, the socket is destroyed (dispose does both). */
  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.dispose();
    for (const proc of [...this.procs.values()]) this.fail(proc, this.closedError(proc.pid));
  }
}

/** vscode-jsonrpc's own codes for a connection that failed (write/read error, disposed, inactive). */
function isTransportCode(code: number): boolean {
  return code >= ErrorCodes.MessageWriteError && code <= ErrorCodes.ConnectionInactive;
}

function replyKind(code: number): ReplyKind {
  if (code === P.ControlErrorCodes.NotFound) return 'not-found';
  if (code === P.ControlErrorCodes.InvalidParams) return 'bad-request';
  return 'internal';
}

function signalNumber(signal: number | string): number {
  if (typeof signal === 'number') return signal;
  const upper = signal.toUpperCase();
  const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as keyof typeof os.constants.signals;
  const n = os.constants.signals[name];
  if (n === undefined)
    throw new ControlError('CONTROL_BAD_SIGNAL', `unknown signal ${JSON.stringify(signal)}`, { reply: 'bad-request' });
  return n;
}
