/**
 * One process started by RUN, as GuestClient tracks it: its output pump (credit.ts), its exit promise and its
 * stdin queue. `exit` resolves after the EXIT frame and after every OUTPUT chunk was delivered to the sink; it
 * rejects with GuestOutputError if the sink failed, or with GuestChannelClosedError (after the chunks already
 * received were delivered) if the channel ended before EXIT.
 *
 * stdin: at most one STDIN frame of at most STDIN_CHUNK bytes is in flight per process (docs/guest-protocol.md,
 * STDIN); writes and the close are queued in call order.
 */
import type { ExitStatus, OutputSink } from './process-io.js';
import type { ReplyKind } from '../errors.js';
import { OutputPump } from './credit.js';
import { GuestArgumentError } from './errors.js';
import type { HostRequest } from './frames.js';

/** Largest STDIN frame data the host sends. */
export const STDIN_CHUNK = 65536;

export interface RunSpec {
  /** Absolute path, or a name looked up in the PATH of `env`. */
  path: string;
  /** Full argv, argv[0] included. */
  argv: string[];
  /** Full environment, K=V entries. */
  env: string[];
  /** Working directory; empty = "/". */
  cwd: string;
  uid: number;
  gid: number;
  /** Keep stdin open for writeStdin(); otherwise the process reads EOF at once. */
  stdin: boolean;
}

export interface GuestProcess {
  /** The proc_id, allocated by the client, never reused. */
  readonly procId: number;
  /** Resolves after EXIT and after the last output chunk was delivered; rejects if the channel ends first. */
  readonly exit: Promise<ExitStatus>;
  /** Resolves once init wrote all of it to the process's stdin. An empty buffer does nothing (use closeStdin). */
  writeStdin(data: Uint8Array): Promise<void>;
  /** Closes the process's stdin after the writes queued before it. Idempotent. */
  closeStdin(): Promise<void>;
  /** Sends `signal` (1..64) to the process group. Rejects with reply 'not-found' (ESRCH) once the process is gone. */
  kill(signal: number): Promise<void>;
}

export interface ProcessDeps {
  grant(n: number): void;
  request(msg: HostRequest, what: string, kind: (errnoName: string) => ReplyKind): Promise<void>;
  creditThreshold: number;
  /** Called once the exit promise settled. */
  onSettled(): void;
}

export class GuestProcessState {
  readonly handle: GuestProcess;
  /** The EXIT frame arrived: no more OUTPUT or EXIT may follow. */
  exitSeen = false;
  private settled = false;
  private readonly pump: OutputPump;
  private readonly what: string;
  private resolveExit!: (s: ExitStatus) => void;
  private rejectExit!: (err: unknown) => void;
  private stdinTail: Promise<void> = Promise.resolve();
  private stdinClosed = false;

  constructor(
    readonly procId: number,
    private readonly spec: RunSpec,
    sink: OutputSink,
    private readonly deps: ProcessDeps,
  ) {
    this.what = `process ${procId} (${spec.path})`;
    this.pump = new OutputPump(procId, sink, deps.grant, deps.creditThreshold);
    const exit = new Promise<ExitStatus>((resolve, reject) => {
      this.resolveExit = resolve;
      this.rejectExit = reject;
    });
    exit.catch(() => {}); // the owner may never look at it; a rejection must not crash the runtime
    this.handle = {
      procId,
      exit,
      writeStdin: (data) => this.writeStdin(data),
      closeStdin: () => this.closeStdin(),
      kill: (signal) => this.kill(signal),
    };
  }

  output(fd: 1 | 2, data: Uint8Array): void {
    this.pump.push(fd, data);
  }

  exited(exitCode: number, signal: number): void {
    this.exitSeen = true;
    this.pump.ledger.stop();
    this.settleAfterOutput(() => this.resolveExit({ code: exitCode, signal: signal === 0 ? null : signal }));
  }

  /** The channel ended. After EXIT this changes nothing: the status is known and the output is still delivered. */
  channelClosed(error: (what: string) => Error): void {
    if (this.exitSeen || this.settled) return;
    this.exitSeen = true;
    this.pump.ledger.stop();
    const err = error(this.what);
    this.settleAfterOutput(() => this.rejectExit(err));
  }

  /** RUN failed: nothing of this process will come. */
  abandon(): void {
    this.exitSeen = true;
    this.settled = true;
    this.pump.ledger.stop();
  }

  private settleAfterOutput(settle: () => void): void {
    this.pump
      .drained()
      .then(settle, (err: unknown) => this.rejectExit(err))
      .finally(() => {
        this.settled = true;
        this.deps.onSettled();
      });
  }

  private writeStdin(data: Uint8Array): Promise<void> {
    if (!this.spec.stdin) return Promise.reject(new GuestArgumentError(`${this.what} was started without stdin`));
    if (this.stdinClosed) return Promise.reject(new GuestArgumentError(`stdin of ${this.what} is already closed`));
    if (data.length === 0) return this.stdinTail;
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += STDIN_CHUNK) chunks.push(data.subarray(at, at + STDIN_CHUNK));
    return this.queueStdin(chunks);
  }

  private closeStdin(): Promise<void> {
    if (!this.spec.stdin || this.stdinClosed) return this.stdinTail;
    this.stdinClosed = true;
    return this.queueStdin([new Uint8Array(0)]);
  }

  private queueStdin(chunks: Uint8Array[]): Promise<void> {
    const what = `STDIN ${this.what}`;
    const done = this.stdinTail.then(async () => {
      for (const data of chunks)
        await this.deps.request({ type: 'STDIN', procId: this.procId, data }, what, () => 'internal');
    });
    this.stdinTail = done.catch(() => {});
    return done;
  }

  private kill(signal: number): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > 64) {
      return Promise.reject(new GuestArgumentError(`KILL ${this.what}: signal ${signal} is not in 1..64`));
    }
    return this.deps.request({ type: 'KILL', procId: this.procId, signal }, `KILL ${this.what}`, (e) =>
      e === 'ESRCH' ? 'not-found' : e === 'EINVAL' ? 'bad-request' : 'internal',
    );
  }
}
