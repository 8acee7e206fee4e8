/**
 * A conformance client that drives the runtime exactly as yagna's ExeUnit does in service mode
 * (docs/yagna-contract.md sections 1 and 3), for tests:
 *  - spawns `node bin/ya-runtime-vm <global options> start [start args]` with cwd = the activity workdir, in our
 *    own process group (no `detached`), stdin/stdout as the frame streams;
 *  - request ids start at 2 (the Hello) and count up;
 *  - RunProcess carries args[0] = basename(bin); the command is bound to the FIRST ProcessStatus event with a pid
 *    not seen before (the pid in the reply is ignored, as the ExeUnit does), collects its stdout/stderr deltas and
 *    completes on the event with running = false;
 *  - any stdout byte that is not a valid frame, or a response with no command, is a violation: the ExeUnit would
 *    kill the runtime, and so does this client (SIGKILL), failing every pending request;
 *  - breaches it can see without killing (an event for a pid after its exit event, an event with no command
 *    waiting for it) are recorded in `violations` for the test to assert empty.
 * It imports nothing from src/: its wire codec is exeunit-wire.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { CLI } from './paths.js';
import {
  FrameSplitter,
  decodeResponse,
  delimit,
  encodeRequest,
  type DecodedResponse,
  type RequestCommand,
  type ResponseError,
} from './exeunit-wire.js';

export * from './exeunit-wire.js';

export interface SpawnOptions {
  /** The activity workdir: cwd of the runtime (and usually also passed as --workdir in globalArgs). */
  workdir: string;
  /** Global options, placed before `start` (e.g. ['--workdir', dir, '--task-package', gvmi]). */
  globalArgs?: string[];
  /** Arguments after `start` (start-entrypoint mode). */
  startArgs?: string[];
  /** Program and leading arguments replacing `node <repo>/bin/ya-runtime-vm` (e.g. a fixture). */
  command?: string[];
  env?: NodeJS.ProcessEnv;
  /** Runtime's stderr: 'pipe' (default; read with stderrText()), 'inherit' or 'ignore'. */
  stderr?: 'pipe' | 'inherit' | 'ignore';
}

export interface RunResult {
  /** return_code of the final ProcessStatus. */
  code: number;
  stdout: Buffer;
  stderr: Buffer;
  /** The pid the command was bound to (first unseen pid in an event). */
  pid: number;
  /** The pid in the run{} reply (the ExeUnit ignores it). */
  replyPid: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** An Error reply, as a rejection. */
export class ExeUnitRequestError extends Error {
  constructor(
    readonly id: number,
    readonly error: ResponseError,
  ) {
    super(
      `request ${id} failed: [${['INTERNAL', 'NOT_FOUND', 'BAD_REQUEST'][error.code] ?? error.code}] ${error.message}`,
    );
  }
}

interface Pending {
  resolve(r: DecodedResponse): void;
  reject(err: Error): void;
}

interface RunState {
  pid?: number;
  done: boolean;
  stdout: Buffer[];
  stderr: Buffer[];
  code?: number;
  finished: Promise<void>;
  finish(): void;
}

export class ExeUnitClient {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  /** Every response received, in order. */
  readonly responses: DecodedResponse[] = [];
  /** Replies that matched no pending request (e.g. the Error with id 0 for a malformed frame). */
  readonly unsolicited: DecodedResponse[] = [];
  /** Contract breaches observed. */
  readonly violations: string[] = [];
  /** Last value of each usage counter event. */
  readonly counters = new Map<string, number>();

  private nextId = 2;
  private readonly pending = new Map<number, Pending>();
  private readonly unbound: RunState[] = [];
  private readonly byPid = new Map<number, RunState>();
  private readonly splitter = new FrameSplitter();
  private stderrChunks: Buffer[] = [];
  private exitInfo: ExitInfo | undefined;
  private fatal: Error | undefined;
  private waiters: (() => void)[] = [];

  static spawn(opts: SpawnOptions): ExeUnitClient {
    return new ExeUnitClient(opts);
  }

  private constructor(opts: SpawnOptions) {
    const [program, ...lead] = opts.command ?? [process.execPath, CLI];
    const argv = [...lead, ...(opts.globalArgs ?? []), 'start', ...(opts.startArgs ?? [])];
    this.child = spawn(program!, argv, {
      cwd: opts.workdir,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', opts.stderr ?? 'pipe'],
    });
    this.child.stdin!.on('error', () => {}); // EPIPE after the runtime exited: reported through `exited`
    this.child.stdout!.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => this.stderrChunks.push(chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => this.fail(new Error(`cannot spawn ${program}: ${err.message}`)));
      this.child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        if (this.splitter.pending > 0)
          this.violation(`runtime exited with ${this.splitter.pending} bytes of a partial frame on stdout`);
        this.fail(
          new Error(`runtime exited (code ${code}, signal ${signal}); stderr: ${this.stderrText().slice(-2000)}`),
        );
        resolve({ code, signal });
      });
    });
  }

  stderrText(): string {
    return Buffer.concat(this.stderrChunks).toString();
  }

  /** Sends one request and resolves with its reply (an Error reply resolves too). */
  request(command: RequestCommand, id: number = this.nextId++): Promise<DecodedResponse> {
    if (this.fatal) return Promise.reject(this.fatal);
    const reply = new Promise<DecodedResponse>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.child.stdin!.write(delimit(encodeRequest(id, command)));
    return reply;
  }

  async hello(version = '0.1.0'): Promise<string> {
    return expectKind(await this.request({ hello: { version } }), 'hello').version;
  }

  /** RunProcess{bin, args: [basename(bin), ...args]} → the process's output and return code. */
  async run(bin: string, args: string[] = []): Promise<RunResult> {
    return (await this.start(bin, args)).result;
  }

  /** RunProcess, resolved once the reply is in: its pid (for KillProcess) and the result to come. */
  async start(bin: string, args: string[] = []): Promise<{ pid: number; result: Promise<RunResult> }> {
    const state = this.newRun();
    let reply: DecodedResponse;
    try {
      reply = await this.request({ run: { bin, args: [path.posix.basename(bin), ...args] } });
    } catch (err) {
      this.unbind(state);
      throw err;
    }
    if (reply.kind === 'error') {
      this.unbind(state);
      throw new ExeUnitRequestError(reply.id, reply.error);
    }
    const replyPid = expectKind(reply, 'run').pid;
    const result = state.finished.then(() => ({
      code: state.code!,
      stdout: Buffer.concat(state.stdout),
      stderr: Buffer.concat(state.stderr),
      pid: state.pid!,
      replyPid,
    }));
    return { pid: replyPid, result };
  }

  /** A RunProcess that must fail: resolves with the Error reply. */
  async runExpectError(bin: string, args: string[] = []): Promise<ResponseError> {
    try {
      const result = await this.run(bin, args);
      throw new Error(`expected ${bin} to be refused, it ran and returned ${result.code}`);
    } catch (err) {
      if (err instanceof ExeUnitRequestError) return err.error;
      throw err;
    }
  }

  async kill(pid: number, signal = 15): Promise<void> {
    expectKind(await this.request({ kill: { pid, signal } }), 'kill');
  }

  /** Shutdown{} → shutdown{} reply → process exit, within `timeoutMs` overall (the ExeUnit allows about 5 s). */
  async shutdown(timeoutMs = 5000): Promise<ExitInfo> {
    const deadline = withTimeout(timeoutMs, () => this.child.kill('SIGKILL'));
    try {
      const reply = await Promise.race([this.request({ shutdown: {} }), deadline.promise]);
      expectKind(reply, 'shutdown');
      return await Promise.race([this.exited, deadline.promise]);
    } finally {
      deadline.cancel();
    }
  }

  /** EOF on the runtime's stdin: "the ExeUnit is gone". */
  closeStdin(): void {
    this.child.stdin!.end();
  }

  sendRaw(bytes: Uint8Array): void {
    this.child.stdin!.write(bytes);
  }

  /** Waits until a response matches (already received ones count). */
  async waitFor(pred: (r: DecodedResponse) => boolean, timeoutMs = 5000): Promise<DecodedResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.responses.find(pred);
      if (found) return found;
      if (this.fatal || Date.now() > deadline)
        throw this.fatal ?? new Error(`no matching response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.max(0, deadline - Date.now())).unref();
      });
    }
  }

  /** Test teardown: SIGKILL the runtime if it still runs, and wait for it. */
  async dispose(): Promise<ExitInfo> {
    if (!this.exitInfo) this.child.kill('SIGKILL');
    return this.exited;
  }

  // ---- inbound -----------------------------------------------------------------------------------------------

  private onStdout(chunk: Buffer): void {
    if (this.fatal) return;
    let frames: Uint8Array[];
    const decoded: DecodedResponse[] = [];
    try {
      frames = this.splitter.push(chunk);
      for (const f of frames) decoded.push(decodeResponse(f));
    } catch (err) {
      // The ExeUnit kills a runtime whose stdout is not a frame stream.
      this.violation(`invalid frame on stdout: ${(err as Error).message}`);
      this.fail(new Error(`runtime wrote an invalid frame: ${(err as Error).message}`));
      this.child.kill('SIGKILL');
      return;
    }
    for (const r of decoded) this.onResponse(r);
  }

  private onResponse(r: DecodedResponse): void {
    this.responses.push(r);
    if (r.event) {
      if (r.kind === 'status') this.onStatus(r.status);
      else if (r.kind === 'counter') this.counters.set(r.name, r.value);
    } else {
      const p = this.pending.get(r.id);
      if (p) {
        this.pending.delete(r.id);
        p.resolve(r);
      } else this.unsolicited.push(r);
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private onStatus(s: { pid: number; running: boolean; returnCode: number; stdout: Buffer; stderr: Buffer }): void {
    let state = this.byPid.get(s.pid);
    if (!state) {
      state = this.unbound.shift();
      if (!state) {
        this.violation(`ProcessStatus for pid ${s.pid} while no command waits for a new pid`);
        return;
      }
      state.pid = s.pid;
      this.byPid.set(s.pid, state);
    }
    if (state.done) {
      this.violation(`ProcessStatus for pid ${s.pid} after its exit event`);
      return;
    }
    if (s.stdout.length > 0) state.stdout.push(s.stdout);
    if (s.stderr.length > 0) state.stderr.push(s.stderr);
    if (!s.running) {
      state.code = s.returnCode;
      state.done = true;
      state.finish();
    }
  }

  private newRun(): RunState {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const state: RunState = { done: false, stdout: [], stderr: [], finished, finish };
    this.unbound.push(state);
    return state;
  }

  private unbind(state: RunState): void {
    const i = this.unbound.indexOf(state);
    if (i >= 0) this.unbound.splice(i, 1);
  }

  private violation(what: string): void {
    this.violations.push(what);
  }

  private fail(err: Error): void {
    this.fatal ??= err;
    for (const p of this.pending.values()) p.reject(this.fatal);
    this.pending.clear();
    for (const w of this.waiters.splice(0)) w();
    // Runs still waiting for their exit event never get one now.
    for (const state of [...this.unbound, ...this.byPid.values()]) {
      if (!state.done) {
        state.done = true;
        state.code = undefined;
        state.finish();
      }
    }
  }
}

function expectKind<K extends DecodedResponse['kind']>(
  r: DecodedResponse,
  kind: K,
): Extract<DecodedResponse, { kind: K }> {
  if (r.kind === 'error') throw new ExeUnitRequestError(r.id, r.error);
  if (r.kind !== kind) throw new Error(`request ${r.id}: expected a ${kind} reply, got ${r.kind}`);
  return r as Extract<DecodedResponse, { kind: K }>;
}

function withTimeout(ms: number, onTimeout: () => void): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`no shutdown within ${ms} ms (the ExeUnit would SIGKILL the runtime)`));
    }, ms);
  });
  promise.catch(() => {});
  return { promise, cancel: () => clearTimeout(timer) };
}
