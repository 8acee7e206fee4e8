/**
 * Output flow control of guest processes (docs/guest-protocol.md, "CREDIT and output flow control").
 *
 * Primer. The guest pushes a process's stdout/stderr to us as OUTPUT events, but only within a *window* of credit:
 * each process starts with INITIAL_CREDIT (256 KiB) and init subtracts every byte it sends. At zero it stops reading
 * the process's pipes and the process blocks on a full pipe: it is slowed down, never truncated. We give room back
 * with CREDIT{proc_id, n} once n bytes were *delivered* to the consumer (the OutputSink promise resolved, i.e. the
 * bytes reached our stdout or the socket), never when they were merely received. So:
 *
 *     window (what init may still send) = INITIAL_CREDIT + granted - received      (always 0..INITIAL_CREDIT)
 *     received - delivered              = bytes held here, waiting for the sink     (at most one window)
 *     delivered - granted               = owed: delivered but not yet granted back
 *
 * Like firecracker's vsock (csm/connection.rs: buf_alloc/fwd_cnt, credit updates sent unasked), we grant without
 * being asked. To save frames we coalesce grants: send when the owed bytes reach a threshold (64 KiB) or when the
 * process has nothing left queued for the sink. The second rule is what prevents starvation: a process whose window
 * is exhausted has all of it queued here, and once the last queued chunk is delivered the whole debt is granted.
 *
 * A guest that sends more than its window is broken: `received` throws a GuestProtocolError.
 * Sink calls for one process are strictly sequential (the next chunk waits for the previous chunk's promise), while
 * other frames keep being read; `drained()` settles after every chunk pushed so far was delivered, which is how the
 * exit status is held back until the process's last output was delivered.
 */
import type { OutputSink } from './process-io.js';
import { GuestOutputError, GuestProtocolError } from './errors.js';
import { INITIAL_CREDIT } from './frames.js';

/** Owed bytes that trigger a CREDIT even while more output is queued. */
export const CREDIT_THRESHOLD = 65536;

export class CreditLedger {
  private received = 0;
  private granted = 0;
  private owed = 0;
  private stopped = false;

  /** `grant(n)` sends CREDIT{procId, n}. */
  constructor(
    private readonly procId: number,
    private readonly grant: (n: number) => void,
    private readonly threshold = CREDIT_THRESHOLD,
  ) {}

  /** What the guest may still send. */
  get window(): number {
    return INITIAL_CREDIT + this.granted - this.received;
  }

  /** An OUTPUT of n bytes arrived. Throws if it exceeds the window. */
  onReceived(n: number): void {
    if (n > this.window) {
      throw new GuestProtocolError(
        `OUTPUT of ${n} bytes for process ${this.procId} exceeds its remaining credit of ${this.window} bytes`,
      );
    }
    this.received += n;
  }

  /** n bytes were delivered to the sink; `idle`: nothing else of this process is waiting for the sink. */
  onDelivered(n: number, idle: boolean): void {
    this.owed += n;
    if (this.stopped || this.owed === 0) return;
    if (this.owed >= this.threshold || idle) {
      const n2 = this.owed;
      this.owed = 0;
      this.granted += n2;
      this.grant(n2);
    }
  }

  /** No more grants (the process exited, or the channel closed): init ignores them anyway. */
  stop(): void {
    this.stopped = true;
  }
}

/** Delivers one process's output to its sink, in order, one chunk at a time, and grants credit behind it. */
export class OutputPump {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private failure: GuestOutputError | undefined;
  readonly ledger: CreditLedger;

  constructor(
    private readonly procId: number,
    private readonly sink: OutputSink,
    grant: (n: number) => void,
    threshold = CREDIT_THRESHOLD,
  ) {
    this.ledger = new CreditLedger(procId, grant, threshold);
  }

  /** Queues a chunk (fd 1 = stdout, 2 = stderr). Throws GuestProtocolError if it exceeds the process's credit. */
  push(fd: 1 | 2, data: Uint8Array): void {
    this.ledger.onReceived(data.length);
    this.queued++;
    this.tail = this.tail.then(async () => {
      if (this.failure === undefined) {
        try {
          await (fd === 1 ? this.sink.stdout(data) : this.sink.stderr(data));
        } catch (err) {
          // Later chunks are dropped but still granted, so the process runs to its end instead of stalling.
          const stream = fd === 1 ? 'stdout' : 'stderr';
          this.failure = new GuestOutputError(`delivering ${stream} of process ${this.procId} failed`, err);
        }
      }
      this.queued--;
      this.ledger.onDelivered(data.length, this.queued === 0);
    });
  }

  /** Settles once every chunk pushed so far was delivered; rejects with GuestOutputError if the sink failed. */
  drained(): Promise<void> {
    return this.tail.then(() => {
      if (this.failure) throw this.failure;
    });
  }
}
