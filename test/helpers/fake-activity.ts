/**
 * A scripted ActivityApi for front-end tests (service protocol, control socket; no VM). Every call is recorded, in
 * order, in `calls` ("exec BIN", "kill PID SIGNAL", "shutdown"); kills also in `kills`, exec specs in `specs`.
 *
 * A bin is run by the program given to the constructor under its name, if there is one: an async function given the
 * process's OutputSink, whose return value is the exit status and whose throw makes `exit` reject (the "VM died"
 * case). Otherwise these built-in programs, by `bin`:
 *   echo ARGS…     one stdout chunk per arg (the first sent before exec resolves), then "done" on stderr, exit 0
 *   flood N SIZE   N stdout chunks of SIZE bytes (chunk i filled with byte i % 256), exit 0; N < 0: until killed
 *   sleep          runs until killed (exit 128+N, signal N)
 *   cat            copies stdin to stdout, exits 0 when stdin is closed
 *   crash          its exit rejects (the VM "died")
 *   missing        exec rejects, reply 'not-found';  bad: reply 'bad-request';  boom: a plain Error
 *   noexec         exec rejects with an ExecFailedError (not-executable), as the real activity does
 * Any other bin: exec rejects like the guest does for a missing binary (reply 'not-found').
 * Every built-in sink call is awaited before the next one and `exit` settles after the last, as the real activity
 * does. Pids count from `firstPid` (1 unless given).
 */
import { ExecFailedError } from '../../src/activity-errors.js';
import type {
  ActivityApi,
  ActivityStatus,
  ExecSpec,
  ExitStatus,
  NetworkAnswer,
  NetworkRequest,
  OutputSink,
  ProcessHandle,
} from '../../src/activity-api.js';
import { RuntimeError } from '../../src/errors.js';

export type FakeProgram = (
  sink: OutputSink,
  spec: ExecSpec,
  proc: { pid: number; killed: Promise<number> },
) => Promise<ExitStatus>;

interface FakeProc {
  pid: number;
  spec: ExecSpec;
  ended: boolean;
  /** A kill: built-in programs end with 128+signal; a scripted program sees `killed` resolve. */
  kill(signal: number): void;
  end(status: ExitStatus): void;
  die(err: Error): void;
  onStdin?: (data: Uint8Array | null) => void;
}

export class FakeActivity implements ActivityApi {
  readonly calls: string[] = [];
  readonly kills: Array<[number, number]> = [];
  readonly specs: ExecSpec[] = [];
  /** Output chunks of built-in programs whose sink promise resolved (delivered to the client). */
  delivered = 0;
  shutdowns = 0;
  /** CreateNetwork requests received, in order. */
  readonly networks: NetworkRequest[] = [];
  /** What createNetwork answers; an Error makes it reject with that error. */
  networkAnswer: NetworkAnswer | Error = { kind: 'udp', address: '127.0.0.1:40000' };
  /** Set to make shutdown() reject. */
  shutdownError: Error | undefined;
  private nextPid: number;
  private readonly procs = new Map<number, FakeProc>();

  constructor(
    readonly programs: Record<string, FakeProgram> = {},
    { firstPid = 1 }: { firstPid?: number } = {},
  ) {
    this.nextPid = firstPid;
  }

  async exec(spec: ExecSpec, sink: OutputSink): Promise<ProcessHandle> {
    this.calls.push(`exec ${spec.bin}`);
    this.specs.push(spec);
    const program = Object.hasOwn(this.programs, spec.bin) ? this.programs[spec.bin] : undefined;
    if (!program) this.refuse(spec);

    const pid = this.nextPid++;
    let end!: (s: ExitStatus) => void;
    let die!: (e: Error) => void;
    const exit = new Promise<ExitStatus>((resolve, reject) => {
      end = resolve;
      die = reject;
    });
    exit.catch(() => {}); // the front-end awaits it; avoid an unhandled rejection before it does
    const settle = (proc: FakeProc): boolean => {
      if (proc.ended) return false;
      proc.ended = true;
      this.procs.delete(pid);
      return true;
    };
    const proc: FakeProc = {
      pid,
      spec,
      ended: false,
      kill: (signal) => proc.end({ code: 128 + signal, signal }),
      end: (s) => settle(proc) && end(s),
      die: (e) => settle(proc) && die(e),
    };
    this.procs.set(pid, proc);

    if (program) {
      let onKill!: (signal: number) => void;
      const killed = new Promise<number>((resolve) => (onKill = resolve));
      proc.kill = onKill;
      program(sink, spec, { pid, killed }).then(proc.end, proc.die);
    } else {
      this.runBuiltin(proc, sink);
    }
    return {
      pid,
      exit,
      writeStdin: async (data) => {
        if (!program && !spec.stdin) throw new RuntimeError('STDIN_CLOSED', `process ${pid} has no stdin`);
        proc.onStdin?.(Buffer.from(data));
      },
      closeStdin: async () => proc.onStdin?.(null),
    };
  }

  /** exec's refusals: the built-in failing bins, and any bin that is neither scripted nor built in. */
  private refuse(spec: ExecSpec): void {
    switch (spec.bin) {
      case 'missing':
        throw new RuntimeError('EXEC_NOT_FOUND', 'cannot run missing', {
          reply: 'not-found',
          cause: new Error('no such file in PATH'),
        });
      case 'noexec':
        throw new ExecFailedError('not-executable', 'noexec: cannot be executed (Permission denied)');
      case 'bad':
        throw new RuntimeError('EXEC_BAD', 'bad work dir', { reply: 'bad-request' });
      case 'boom':
        throw new Error('guest channel broken');
      case 'echo':
      case 'flood':
      case 'cat':
      case 'crash':
      case 'sleep':
        return;
      default:
        throw new RuntimeError('GUEST_REQUEST_FAILED', `cannot start ${spec.bin}: No such file or directory (ENOENT)`, {
          reply: 'not-found',
        });
    }
  }

  private runBuiltin(proc: FakeProc, sink: OutputSink): void {
    const { spec } = proc;
    // A sink that rejects (the output is closed: the service has ended) ends the program as a closed pipe would,
    // where the real activity drops the rest of the output (src/guest/credit.ts); a rejection here would be
    // unhandled, and a `flood -1` would spin on the failing sink.
    const out = async (fd: 1 | 2, data: Uint8Array): Promise<void> => {
      try {
        await (fd === 1 ? sink.stdout(data) : sink.stderr(data));
      } catch {
        proc.end({ code: 141, signal: null });
        return;
      }
      this.delivered++;
    };
    switch (spec.bin) {
      case 'echo': {
        const [first, ...rest] = spec.argv.slice(1);
        // Output before exec resolved: the server must hold it until the pid is known.
        const firstSent = first === undefined ? Promise.resolve() : out(1, Buffer.from(first));
        void (async () => {
          await firstSent;
          for (const arg of rest) await out(1, Buffer.from(arg));
          await out(2, Buffer.from('done'));
          proc.end({ code: 0, signal: null });
        })();
        break;
      }
      case 'flood': {
        // Arguments that are not numbers: N 0, SIZE 1 (the service fuzz target sends any).
        const n = Number(spec.argv[1]) || 0;
        const size = Math.max(1, Math.trunc(Number(spec.argv[2]) || 0));
        void (async () => {
          for (let i = 0; (n < 0 || i < n) && !proc.ended; i++) await out(1, Buffer.alloc(size, i % 256));
          proc.end({ code: 0, signal: null });
        })();
        break;
      }
      case 'cat': {
        let chain = Promise.resolve();
        proc.onStdin = (data) => {
          chain = chain.then(async () => {
            if (data === null) proc.end({ code: 0, signal: null });
            else await out(1, data);
          });
        };
        break;
      }
      case 'crash':
        setTimeout(
          () => proc.die(new RuntimeError('VM_DIED', 'QEMU exited with code 1', { cause: new Error('guest panic') })),
          10,
        );
        break;
      case 'sleep':
        break;
    }
  }

  async createNetwork(req: NetworkRequest): Promise<NetworkAnswer> {
    this.calls.push(`network ${req.role}`);
    this.networks.push(req);
    if (this.networkAnswer instanceof Error) throw this.networkAnswer;
    return this.networkAnswer;
  }

  async kill(pid: number, signal: number): Promise<void> {
    this.calls.push(`kill ${pid} ${signal}`);
    this.kills.push([pid, signal]);
    const proc = this.procs.get(pid);
    if (!proc) throw new RuntimeError('NO_SUCH_PROCESS', `no running process with pid ${pid}`, { reply: 'not-found' });
    proc.kill(signal);
  }

  status(): ActivityStatus {
    return { state: 'ready', accel: 'tcg', processes: this.running(), image: 'test.gvmi' };
  }

  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
    this.shutdowns++;
    if (this.shutdownError) throw this.shutdownError;
  }

  running(): number[] {
    return [...this.procs.keys()];
  }
}
