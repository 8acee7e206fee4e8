/**
 * A scripted ActivityApi for the control-socket tests (no VM). Programs, by `bin`:
 *   echo ARGS…     one stdout chunk per arg (the first sent before exec resolves), then "done" on stderr, exit 0
 *   flood N SIZE   N stdout chunks of SIZE bytes (chunk i filled with byte i % 256), exit 0; N < 0: until killed
 *   sleep          runs until killed (exit 128+N, signal N)
 *   cat            copies stdin to stdout, exits 0 when stdin is closed
 *   crash          its exit rejects (the VM "died")
 *   missing        exec rejects, reply 'not-found';  bad: reply 'bad-request';  boom: a plain Error
 *   noexec         exec rejects with an ExecFailedError (not-executable), as the real activity does
 * Every sink call is awaited before the next one and `exit` settles after the last, as the real activity does.
 */
import { ExecFailedError } from '../../../src/activity-errors.js';
import type {
  ActivityApi,
  ActivityStatus,
  ExecSpec,
  ExitStatus,
  OutputSink,
  ProcessHandle,
} from '../../../src/activity-api.js';
import { RuntimeError } from '../../../src/errors.js';

interface FakeProc {
  pid: number;
  spec: ExecSpec;
  stdin: Buffer[];
  end(status: ExitStatus): void;
  die(err: Error): void;
  ended: boolean;
  onStdin?: (data: Uint8Array | null) => void;
}

export class FakeActivity implements ActivityApi {
  readonly kills: Array<[number, number]> = [];
  readonly specs: ExecSpec[] = [];
  /** Output chunks whose sink promise resolved (delivered to the client socket). */
  delivered = 0;
  shutdowns = 0;
  private nextPid = 100;
  private readonly procs = new Map<number, FakeProc>();

  async exec(spec: ExecSpec, sink: OutputSink): Promise<ProcessHandle> {
    this.specs.push(spec);
    if (spec.bin === 'missing') {
      throw new RuntimeError('EXEC_NOT_FOUND', 'cannot run missing', {
        reply: 'not-found',
        cause: new Error('no such file in PATH'),
      });
    }
    if (spec.bin === 'noexec')
      throw new ExecFailedError('not-executable', 'noexec: cannot be executed (Permission denied)');
    if (spec.bin === 'bad') throw new RuntimeError('EXEC_BAD', 'bad work dir', { reply: 'bad-request' });
    if (spec.bin === 'boom') throw new Error('guest channel broken');

    const pid = this.nextPid++;
    let end!: (s: ExitStatus) => void;
    let die!: (e: Error) => void;
    const exit = new Promise<ExitStatus>((resolve, reject) => {
      end = resolve;
      die = reject;
    });
    const proc: FakeProc = {
      pid,
      spec,
      stdin: [],
      ended: false,
      end: (s) => {
        if (proc.ended) return;
        proc.ended = true;
        this.procs.delete(pid);
        end(s);
      },
      die: (e) => {
        if (proc.ended) return;
        proc.ended = true;
        this.procs.delete(pid);
        die(e);
      },
    };
    this.procs.set(pid, proc);
    const out = async (fd: 1 | 2, data: Uint8Array): Promise<void> => {
      await (fd === 1 ? sink.stdout(data) : sink.stderr(data));
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
        const n = Number(spec.argv[1]);
        const size = Number(spec.argv[2]);
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
      default:
        throw new Error(`fake: unknown program ${spec.bin}`);
    }
    return {
      pid,
      exit,
      writeStdin: async (data) => {
        if (!spec.stdin) throw new RuntimeError('STDIN_CLOSED', `process ${pid} has no stdin`);
        proc.onStdin?.(Buffer.from(data));
      },
      closeStdin: async () => proc.onStdin?.(null),
    };
  }

  async kill(pid: number, signal: number): Promise<void> {
    this.kills.push([pid, signal]);
    const proc = this.procs.get(pid);
    if (!proc) throw new RuntimeError('NO_SUCH_PROCESS', `no process ${pid}`, { reply: 'not-found' });
    proc.end({ code: 128 + signal, signal });
  }

  status(): ActivityStatus {
    return { state: 'ready', accel: 'tcg', processes: [...this.procs.keys()], image: 'test.gvmi' };
  }

  async shutdown(): Promise<void> {
    this.shutdowns++;
  }

  running(): number[] {
    return [...this.procs.keys()];
  }
}
