/**
 * A scripted ActivityApi for front-end tests (service protocol, control socket). Each program is an async function
 * given the process's OutputSink; its return value is the exit status and a throw makes `exit` reject (the "VM
 * died" case). `exec` of a bin without a program rejects like the guest does for a missing binary (reply
 * 'not-found'). Every call is recorded in `calls`, in order.
 */
import type {
  ActivityApi,
  ActivityStatus,
  ExecSpec,
  ExitStatus,
  OutputSink,
  ProcessHandle,
} from '../../src/activity-api.js';
import { RuntimeError } from '../../src/errors.js';

export type FakeProgram = (
  sink: OutputSink,
  spec: ExecSpec,
  proc: { pid: number; killed: Promise<number> },
) => Promise<ExitStatus>;

export class FakeActivity implements ActivityApi {
  readonly calls: string[] = [];
  readonly specs: ExecSpec[] = [];
  private nextPid = 1;
  private readonly running = new Map<number, (signal: number) => void>();
  /** Set to make shutdown() reject. */
  shutdownError: Error | undefined;

  constructor(readonly programs: Record<string, FakeProgram> = {}) {}

  async exec(spec: ExecSpec, sink: OutputSink): Promise<ProcessHandle> {
    this.calls.push(`exec ${spec.bin}`);
    this.specs.push(spec);
    const program = this.programs[spec.bin];
    if (!program) {
      throw new RuntimeError('GUEST_REQUEST_FAILED', `cannot start ${spec.bin}: No such file or directory (ENOENT)`, {
        reply: 'not-found',
      });
    }
    const pid = this.nextPid++;
    let onKill!: (signal: number) => void;
    const killed = new Promise<number>((resolve) => (onKill = resolve));
    this.running.set(pid, onKill);
    const exit = program(sink, spec, { pid, killed }).finally(() => this.running.delete(pid));
    exit.catch(() => {}); // the front-end awaits it; avoid an unhandled rejection before it does
    return {
      pid,
      exit,
      writeStdin: async () => {},
      closeStdin: async () => {},
    };
  }

  async kill(pid: number, signal: number): Promise<void> {
    this.calls.push(`kill ${pid} ${signal}`);
    const onKill = this.running.get(pid);
    if (!onKill)
      throw new RuntimeError('NO_SUCH_PROCESS', `no running process with pid ${pid}`, { reply: 'not-found' });
    onKill(signal);
  }

  status(): ActivityStatus {
    return { state: 'ready', accel: 'fake', processes: [...this.running.keys()], image: 'fake' };
  }

  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
    if (this.shutdownError) throw this.shutdownError;
  }
}
