/**
 * Layer 3 of the guest channel: requests, replies and process events over a GuestChannel.
 *
 *  - Requests: each gets a fresh non-zero id and an entry in the pending map; OK / HELLO_OK / ERROR with that id
 *    settles it. ERROR rejects with GuestRequestError (errno, errno name, init's message). A reply for an unknown
 *    id, or of the wrong type, is a GuestProtocolError and breaks the channel.
 *  - Processes: `run` allocates the proc_id (from 1, never reused) and registers the process *before* sending RUN.
 *    OUTPUT goes through the process's OutputPump (credit.ts): in order, one sink call at a time, CREDIT behind it.
 *    `exit` resolves after the EXIT frame and after every OUTPUT of the process was delivered to the sink.
 *  - Closing: when the channel ends for any reason (QEMU died, socket error, malformed frame, `close()`), every
 *    pending request and every running process's `exit` rejects with GuestChannelClosedError, whose cause is what
 *    ended the channel. Nothing is left waiting.
 *
 * The client does NOT stop the VM; the owner of the VM watches `onClose` for that.
 */
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import type { OutputSink } from './process-io.js';
import type { ReplyKind } from '../errors.js';
import { GuestChannel } from './channel.js';
import { CREDIT_THRESHOLD } from './credit.js';
import { GuestArgumentError, GuestChannelClosedError, GuestProtocolError, GuestRequestError } from './errors.js';
import {
  type GuestMessage,
  type HostRequest,
  isGuestMessage,
  type Message,
  type NetConfigMsg,
  MOUNT_SEED,
  PROTOCOL_VERSION,
  RUN_STDIN,
} from './frames.js';
import { GuestProcessState, type GuestProcess, type RunSpec } from './guest-process.js';

export type { GuestProcess, RunSpec } from './guest-process.js';

export interface MountRootSpec {
  /** Serial of the squashfs image disk. */
  imageSerial: string;
  /** Serial of the ext4 upper disk; empty = tmpfs upper. */
  upperSerial: string;
  /** Size of the tmpfs upper in bytes; 0 = half of RAM. */
  tmpfsSize: number | bigint;
  hostname: string;
}

export interface MountSpec {
  fstype: 'virtiofs' | '9p' | 'tmpfs' | 'ext4';
  /** virtio-fs / 9p tag, disk serial (ext4), ignored (tmpfs). */
  source: string;
  /** Absolute, normalized path in the guest. */
  target: string;
  /** Mount data, usually empty. */
  options: string;
  /** Copy the image's files at `target` into the volume when the volume is empty (MOUNT_SEED). */
  seed?: boolean;
}

/** A NET_CONFIG request (docs/guest-protocol.md): the NIC's boot MAC, its new MAC, MTU, addresses, routes, hosts. */
export type NetConfigSpec = Omit<NetConfigMsg, 'type' | 'id'>;

export type GuestLogLevel = 'info' | 'warning' | 'fatal';

export interface GuestClientOptions {
  /** Owed output bytes that trigger a CREDIT while more output is queued (default 64 KiB). */
  creditThreshold?: number;
}

type ReplyType = 'OK' | 'HELLO_OK';
interface Pending {
  op: HostRequest['type'];
  what: string;
  expect: ReplyType;
  kind: (errnoName: string) => ReplyKind;
  resolve: (msg: GuestMessage) => void;
  reject: (err: Error) => void;
}

/** errno number -> first name Node lists for it (EAGAIN before EWOULDBLOCK). */
const ERRNO_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(osConstants.errno)) if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);
const LEVELS: readonly GuestLogLevel[] = ['info', 'warning', 'fatal'];
const internal = (_errnoName: string): ReplyKind => 'internal';

export class GuestClient {
  private readonly channel: GuestChannel;
  private readonly pending = new Map<number, Pending>();
  private readonly procs = new Map<number, GuestProcessState>();
  private readonly logListeners: ((level: GuestLogLevel, message: string) => void)[] = [];
  private nextId = 1;
  private nextProcId = 1;
  private closedByHost = false;
  private readonly creditThreshold: number;

  constructor(stream: Duplex, options: GuestClientOptions = {}) {
    this.creditThreshold = options.creditThreshold ?? CREDIT_THRESHOLD;
    this.channel = new GuestChannel(stream);
    this.channel.onMessage((msg) => this.dispatch(msg));
    this.channel.onClose((cause) => this.failAll(cause));
  }

  /** Exchanges versions; rejects with GuestProtocolError (code GUEST_VERSION_MISMATCH) if init speaks another. */
  async hello(): Promise<{ version: number; description: string }> {
    const reply = await this.request({ type: 'HELLO', version: PROTOCOL_VERSION }, 'HELLO', 'HELLO_OK');
    if (reply.type !== 'HELLO_OK') throw new Error('unreachable');
    if (reply.version !== PROTOCOL_VERSION) {
      throw new GuestProtocolError(
        `guest init "${reply.description}" speaks protocol version ${reply.version}, the host ${PROTOCOL_VERSION}`,
        { code: 'GUEST_VERSION_MISMATCH' },
      );
    }
    return { version: reply.version, description: reply.description };
  }

  async mountRoot(spec: MountRootSpec): Promise<void> {
    const size = spec.tmpfsSize;
    if (typeof size === 'number' && !Number.isSafeInteger(size)) {
      throw new GuestArgumentError(`MOUNT_ROOT ${spec.imageSerial}: tmpfs_size ${size} is not an integer`);
    }
    await this.request(
      {
        type: 'MOUNT_ROOT',
        imageSerial: spec.imageSerial,
        upperSerial: spec.upperSerial,
        tmpfsSize: BigInt(size),
        hostname: spec.hostname,
      },
      `MOUNT_ROOT ${spec.imageSerial}`,
    );
  }

  /** Mounts one volume; send parents first. */
  async mount(spec: MountSpec): Promise<void> {
    await this.request(
      {
        type: 'MOUNT',
        fstype: spec.fstype,
        source: spec.source,
        target: spec.target,
        options: spec.options,
        flags: spec.seed ? MOUNT_SEED : 0,
      },
      `MOUNT ${spec.fstype} ${spec.source} on ${spec.target}`,
    );
  }

  /** Limits of the requestor's cgroup (LIMITS); after mountRoot. */
  async limits(spec: { pidsMax: number; memReserveBytes: number; cpuWeight: number }): Promise<void> {
    if (!Number.isSafeInteger(spec.memReserveBytes) || spec.memReserveBytes < 0)
      throw new GuestArgumentError(`LIMITS: mem_reserve ${spec.memReserveBytes} is not a byte count`);
    await this.request(
      {
        type: 'LIMITS',
        pidsMax: spec.pidsMax,
        memReserve: BigInt(spec.memReserveBytes),
        cpuWeight: spec.cpuWeight,
      },
      `LIMITS pids ${spec.pidsMax || 'max'}, reserve ${spec.memReserveBytes}, weight ${spec.cpuWeight}`,
    );
  }

  /** Configures one NIC (NET_CONFIG). Rejects with GuestRequestError naming the failed step when init refuses it. */
  async netConfig(spec: NetConfigSpec): Promise<void> {
    await this.request({ type: 'NET_CONFIG', ...spec }, `NET_CONFIG for the NIC ${spec.deviceMac}`);
  }

  /**
   * Starts a process. Resolves once init replied OK (execve succeeded). Rejects with GuestRequestError (reply
   * 'not-found' for ENOENT: missing binary or cwd) if it could not start.
   */
  async run(spec: RunSpec, sink: OutputSink): Promise<GuestProcess> {
    const procId = this.nextProcId++;
    const proc = new GuestProcessState(procId, spec, sink, {
      grant: (n) => void this.channel.send({ type: 'CREDIT', id: 0, procId, bytes: n }).catch(() => {}),
      request: (msg, what, kind) => this.request(msg, what, 'OK', kind).then(() => {}),
      creditThreshold: this.creditThreshold,
      onSettled: () => this.procs.delete(procId),
    });
    this.procs.set(procId, proc);
    try {
      await this.request(
        {
          type: 'RUN',
          procId,
          uid: spec.uid,
          gid: spec.gid,
          flags: spec.stdin ? RUN_STDIN : 0,
          path: spec.path,
          cwd: spec.cwd,
          argv: spec.argv,
          env: spec.env,
        },
        `RUN ${spec.path}`,
        'OK',
        (e) => (e === 'ENOENT' ? 'not-found' : 'internal'),
      );
    } catch (err) {
      this.procs.delete(procId);
      proc.abandon();
      throw err;
    }
    return proc.handle;
  }

  /** Flushes guest filesystems (sync()). */
  async sync(): Promise<void> {
    await this.request({ type: 'SYNC' }, 'SYNC');
  }

  /** Asks init to stop every process, sync, unmount and end the VM. Resolves on init's OK, before the VM is gone. */
  async shutdown(): Promise<void> {
    await this.request({ type: 'SHUTDOWN' }, 'SHUTDOWN');
  }

  /** init's own LOG events. */
  onLog(cb: (level: GuestLogLevel, message: string) => void): () => void {
    this.logListeners.push(cb);
    return () => {
      const i = this.logListeners.indexOf(cb);
      if (i >= 0) this.logListeners.splice(i, 1);
    };
  }

  /** Once, when the channel ends; `cause` is undefined for a clean end of stream or close(). */
  onClose(cb: (cause: Error | undefined) => void): () => void {
    return this.channel.onClose(cb);
  }

  get closed(): boolean {
    return this.channel.closed;
  }

  /** Destroys the stream; every pending request and running process rejects with GuestChannelClosedError. */
  close(): void {
    this.closedByHost = true;
    this.channel.close();
  }

  private request(
    msg: HostRequest,
    what: string,
    expect: ReplyType = 'OK',
    kind: (errnoName: string) => ReplyKind = internal,
  ): Promise<GuestMessage> {
    if (this.channel.closed) return Promise.reject(this.closedError(`${what}: guest channel is closed`));
    const id = this.allocId();
    return new Promise<GuestMessage>((resolve, reject) => {
      this.pending.set(id, { op: msg.type, what, expect, kind, resolve, reject });
      this.channel.send({ ...msg, id } as Message).catch((err: unknown) => {
        if (this.pending.delete(id)) reject(err);
      });
    });
  }

  private allocId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= 0xffffffff ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private dispatch(msg: Message): void {
    if (!isGuestMessage(msg))
      throw new GuestProtocolError(`unexpected ${msg.type} frame (id ${msg.id}) from the guest`);
    switch (msg.type) {
      case 'OK':
      case 'HELLO_OK':
      case 'ERROR':
        return this.settle(msg);
      case 'OUTPUT':
        return this.proc(msg.type, msg.procId).output(msg.fd, msg.data);
      case 'EXIT':
        return this.proc(msg.type, msg.procId).exited(msg.exitCode, msg.signal);
      case 'LOG': {
        const level = LEVELS[msg.level] ?? 'fatal';
        for (const cb of [...this.logListeners]) cb(level, msg.message);
      }
    }
  }

  private proc(type: string, procId: number): GuestProcessState {
    const p = this.procs.get(procId);
    if (p === undefined || p.exitSeen)
      throw new GuestProtocolError(`${type} for process ${procId}, which is not running`);
    return p;
  }

  private settle(msg: Extract<GuestMessage, { type: 'OK' | 'HELLO_OK' | 'ERROR' }>): void {
    const p = this.pending.get(msg.id);
    if (p === undefined && msg.type === 'ERROR') {
      const name = ERRNO_NAMES.get(Math.abs(msg.errno)) ?? `errno ${msg.errno}`;
      throw new GuestProtocolError(`guest rejected a frame (id ${msg.id}): ${msg.message} (${name})`);
    }
    if (p === undefined) throw new GuestProtocolError(`${msg.type} reply for unknown request id ${msg.id}`);
    if (msg.type !== 'ERROR' && msg.type !== p.expect) {
      throw new GuestProtocolError(`${msg.type} reply to ${p.what} (id ${msg.id}), expected ${p.expect}`);
    }
    this.pending.delete(msg.id);
    if (msg.type !== 'ERROR') return p.resolve(msg);
    const errno = Math.abs(msg.errno);
    const name = ERRNO_NAMES.get(errno) ?? '';
    p.reject(new GuestRequestError(p.op, p.what, errno, name, msg.message, p.kind(name)));
  }

  private closedError(message: string, cause?: Error): GuestChannelClosedError {
    return new GuestChannelClosedError(
      message,
      cause ?? (this.closedByHost ? new Error('closed by the host') : undefined),
    );
  }

  private failAll(cause: Error | undefined): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(this.closedError(`${p.what}: guest channel closed before the reply`, cause));
    const procs = [...this.procs.values()];
    for (const proc of procs)
      proc.channelClosed((what) => this.closedError(`${what}: guest channel closed before it exited`, cause));
  }
}
