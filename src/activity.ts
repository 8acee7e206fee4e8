/**
 * Activity: one deployment = one VM = one guest agent session. The one facade both front-ends (stdio service,
 * control socket) call; they never touch QEMU or the guest protocol.
 *
 * Boot (Activity.boot):
 *  1. locate the guest kernel + initramfs, pick the accelerator (probe), pick the volume transport;
 *  2. start the VM (virtiofsd helpers, QEMU) and connect the agent socket;
 *  3. HELLO within a bound (longer under TCG), MOUNT_ROOT, then one MOUNT per volume, parents first;
 *  4. a boot that did not reach HELLO in time, or whose QEMU died before it, is torn down and tried once more; a
 *     failure after HELLO (e.g. a corrupt image the guest cannot mount) is reported at once. Errors carry the
 *     console's last lines.
 * Exec: Docker-like environment, cwd and user (src/exec/), pid = the guest proc_id (unique, never reused).
 * Shutdown (idempotent): guest SHUTDOWN (sync, bounded), then the VM's fixed teardown (QEMU, virtiofsd, sockets).
 */
import type {
  ActivityApi,
  ActivityStatus,
  ExecSpec,
  NetworkAnswer,
  NetworkRequest,
  OutputSink,
  ProcessHandle,
} from './activity-api.js';
import type { Deployment, Volume } from './deployment/deployment.js';
import { readImageFile } from './image/image-file.js';
import { ActivityError, BootError, ExecFailedError, type BootErrorCode } from './activity-errors.js';
import { errorChain, RuntimeError } from './errors.js';
import type { Logger } from './log.js';
import { GuestClient, type GuestProcess, type MountSpec, type NetConfigSpec } from './guest/guest-client.js';
import { GuestRequestError } from './guest/errors.js';
import { NET_ISOLATE } from './guest/net-config-frame.js';
import { PROTOCOL_VERSION } from './guest/frames.js';
import { startVm, type VmExit, type VmHandle } from './vm/vm.js';
import { defaultCacheDir } from './cache-dir.js';
import { locateGuestFiles, type GuestFiles } from './vm/guest-files.js';
import { probeAccel, type AccelDecision, type AccelRequest } from './vm/accel-probe.js';
import { findVirtiofsd, type VirtiofsdBinary } from './vm/virtiofsd.js';
import { ROOTFS_SERIAL } from './vm/qemu-args.js';
import { buildEnvironment, workingDirectory } from './exec/environment.js';
import { resolveUser, type ResolvedUser } from './image/user.js';
import type { Endpoint, NetworkRole } from './network/endpoint.js';
import { NetworkEndpoints } from './network/endpoints.js';
import { planNic, type NicPlan } from './network/plan.js';
import { USER_NET_MAC, USER_NET_PLAN } from './network/user-net.js';
import type { VmNic } from './vm/qemu-args.js';
import { guestLimits, type GuestLimits } from './exec/guest-limits.js';

export type VolumeTransport = 'auto' | 'virtiofs' | '9p';

export interface ActivityOptions {
  deployment: Deployment;
  workdir: string;
  log: Logger;
  accel?: AccelRequest;
  volumes?: VolumeTransport;
  virtiofsdPath?: string;
  guestDir?: string;
  /** Bound on reaching the agent handshake (default 60 s under TCG, 15 s under KVM). */
  helloTimeoutMs?: number;
  /** The endpoint options (`--vpn-endpoint`, `--inet-endpoint`): each gives the VM a NIC wired to it. */
  network?: Partial<Record<NetworkRole, Endpoint>>;
  /** `--net user` (operators): one more NIC on QEMU's user-mode network, configured at boot. */
  userNet?: boolean;
  /** The operator's limits for the requestor's processes (`--guest-pids-max`…), over the defaults of guest-limits.ts. */
  limits?: Partial<GuestLimits>;
  /** Aborting cancels a boot in progress (Shutdown or stdin EOF during boot): the VM is torn down at once. */
  signal?: AbortSignal;
  /** Called each time a boot attempt has spawned QEMU (the guest is booting from then on). */
  onQemuSpawned?: () => void;
}

/** The whole guest part of a shutdown (SHUTDOWN reply + QEMU exit) must fit in the ExeUnit's ~5 s with the
 * host teardown after it. */
const GUEST_SHUTDOWN_MS = 2500;
/** Bound on init's answer to a KILL, inside the ExeUnit's ~5 s for KillProcess. */
const KILL_ANSWER_MS = 3000;
/** Bound on the mounts after the handshake (a wedged mount must not hang the boot). */
const MOUNT_TIMEOUT_MS = 60_000;
/** SIGTERM -> SIGKILL grace for QEMU and virtiofsd at teardown. */
const STOP_GRACE_MS = 1000;

export class Activity implements ActivityApi {
  private state: ActivityStatus['state'] = 'ready';
  private readonly running = new Map<number, GuestProcess>();
  private stopping: Promise<void> | undefined;
  private readonly user: ResolvedUser;
  /** Set when the VM ended by itself (guest crash, QEMU or a helper died): later commands are told why. */
  private ended: VmExit | undefined;

  private constructor(
    private readonly opts: ActivityOptions,
    private readonly vm: VmHandle,
    private readonly guest: GuestClient,
    readonly accel: AccelDecision,
    readonly transport: 'virtiofs' | '9p' | 'none',
    user: ResolvedUser,
    private readonly network: NetworkEndpoints,
    /** The guest folder booted and those passed over before it (guest-files.ts; `test` reports them). */
    readonly guestFiles: Pick<GuestFiles, 'dir' | 'tried'>,
  ) {
    this.user = user;
    void vm.exited.then((exit) => {
      if (this.state !== 'stopping' && this.state !== 'stopped') {
        opts.log.error({ exit }, 'the VM ended unexpectedly');
        this.state = 'stopped';
        this.ended = exit;
        guest.close(); // vm.ts tears the helpers down itself when QEMU ends
      }
    });
  }

  static async boot(opts: ActivityOptions): Promise<Activity> {
    const log = opts.log;
    const files = await locateGuestFiles({
      ...(opts.guestDir ? { guestDir: opts.guestDir } : {}),
      protocol: PROTOCOL_VERSION,
    });
    log.info({ guest: files.dir, tried: files.tried }, 'guest files');
    const hostVolumes = opts.deployment.volumes.filter((v) => v.kind === 'host');
    // Independent look-ups (each may spawn a process: the boot probe, `virtiofsd --help`, `unsquashfs -cat`): at once.
    const [accel, chosen, user] = await Promise.all([
      probeAccel(opts.accel ?? 'auto', { kernelPath: files.kernel, cacheDir: defaultCacheDir(), log }),
      chooseTransport(opts.volumes ?? 'auto', hostVolumes.length > 0, opts.virtiofsdPath, log),
      imageUser(opts.deployment, log),
    ]);
    let { transport, virtiofsd } = chosen;
    // The NICs' sockets live as long as the activity: both boot attempts use the same ones.
    const network = await NetworkEndpoints.open(opts.network ?? {});
    const nics = network.nics().map((n): VmNic => ({
      id: n.role,
      mac: n.bootMac,
      backend: n.backend.kind === 'fd' ? { kind: 'dgram-fd', fd: n.backend.fd } : n.backend,
    }));
    if (opts.userNet) nics.push({ id: 'user', mac: USER_NET_MAC, backend: { kind: 'user' } });
    for (let attempt = 1; ; attempt++) {
      try {
        const { vm, guest } = await bootOnce(opts, files, accel, transport, virtiofsd, nics, attempt);
        log.info({ attempt, accel: accel.accel, transport, nics: nics.map((n) => n.id) }, 'activity ready');
        return new Activity(opts, vm, guest, accel, transport, user, network, {
          dir: files.dir,
          tried: files.tried,
        });
      } catch (err) {
        // A virtiofsd that passed its --help check but cannot start (Debian 13's Rust one as a plain user where
        // user namespaces are refused: in a chroot, or restricted by the distribution): with `--volumes auto`,
        // host volumes then use 9p, as where no virtiofsd is usable at all.
        if (transport === 'virtiofs' && (opts.volumes ?? 'auto') === 'auto' && virtiofsdCouldNotStart(err)) {
          log.warn({ err, attempt }, 'virtiofsd could not start: host volumes use 9p');
          transport = '9p';
          virtiofsd = undefined;
          continue;
        }
        const retry =
          attempt === 1 && err instanceof BootError && err.code === 'BOOT_NO_HANDSHAKE' && !opts.signal?.aborted;
        log.error({ err, attempt, retry }, 'boot attempt failed');
        if (!retry) {
          network.close();
          throw err;
        }
      }
    }
  }

  /** Resolves when QEMU has exited, for whatever reason. */
  get vmExited(): Promise<unknown> {
    return this.vm.exited;
  }

  status(): ActivityStatus {
    return {
      state: this.state,
      accel: this.accel.accel,
      processes: [...this.running.keys()],
      image: this.opts.deployment.image.path,
    };
  }

  async exec(spec: ExecSpec, sink: OutputSink): Promise<ProcessHandle> {
    if (this.state !== 'ready') {
      const why = this.ended;
      if (why)
        throw new ActivityError(
          why.guestCrash ? 'GUEST_KERNEL_PANIC' : 'VM_ENDED',
          `cannot run ${spec.bin}: ${why.description}`,
        );
      throw new ActivityError('NOT_RUNNING', `cannot run ${spec.bin}: the VM is ${this.state}`);
    }
    const d = this.opts.deployment;
    const argv = spec.argv.length > 0 ? spec.argv : [spec.bin];
    const env = buildEnvironment(d.config.env, { hostname: d.hostname, home: this.user.home }, spec.env ?? []);
    const cwd = workingDirectory(spec.workDir, d.config.workingDir);
    this.opts.log.info({ cmd: { bin: spec.bin, argv, cwd } }, 'exec');
    let proc;
    try {
      proc = await this.guest.run(
        { path: spec.bin, argv, env, cwd, uid: this.user.uid, gid: this.user.gid, stdin: spec.stdin ?? false },
        sink,
      );
    } catch (err) {
      if (
        err instanceof GuestRequestError &&
        (err.errnoName === 'ENOENT' || err.errnoName === 'EACCES' || err.errnoName === 'ENOEXEC')
      ) {
        const failure = err.errnoName === 'ENOENT' ? 'not-found' : 'not-executable';
        const what = failure === 'not-found' ? 'not found' : 'cannot be executed';
        throw new ExecFailedError(failure, `${spec.bin}: ${what} (${err.guestMessage})`, { cause: err });
      }
      throw err;
    }
    const pid = proc.procId;
    this.running.set(pid, proc);
    const exit = proc.exit
      .catch(async (err: unknown) => {
        // The channel ended under the process: say why the VM ended when we know (QEMU exit, virtiofsd death).
        const ended = await Promise.race([
          this.vm.exited,
          new Promise<undefined>((r) => void setTimeout(() => r(undefined), 2000).unref()),
        ]);
        if (!ended || this.state === 'stopping') throw err;
        throw new ActivityError(
          ended.guestCrash ? 'GUEST_KERNEL_PANIC' : 'VM_ENDED',
          `${spec.bin} (pid ${pid}) did not finish: ${ended.description}`,
          { cause: err },
        );
      })
      .finally(() => this.running.delete(pid));
    exit.catch(() => undefined);
    const logged = exit.then((s) => {
      this.opts.log.info({ pid, exit: s }, 'process ended');
      return s;
    });
    logged.catch(() => undefined); // as `exit`: the caller may never await it (process-relay.ts after a failed reply)
    return {
      pid,
      exit: logged,
      writeStdin: (data) => proc.writeStdin(data),
      closeStdin: () => proc.closeStdin(),
    };
  }

  async createNetwork(req: NetworkRequest): Promise<NetworkAnswer> {
    if (this.state !== 'ready') {
      throw new ActivityError(
        'NOT_RUNNING',
        `cannot configure the ${req.role.toUpperCase()} network: the VM is ${this.state}`,
      );
    }
    const claim = this.network.claim(req.role);
    try {
      const plan = planNic(req);
      this.opts.log.info(
        { net: { role: req.role, ...plan, bootMac: claim.bootMac } },
        'configuring a network interface',
      );
      await this.guest.netConfig(netConfigSpec(claim.bootMac, plan)).catch((err: unknown) => {
        throw new ActivityError(
          'NETWORK_CONFIG_FAILED',
          `CreateNetwork(${req.role.toUpperCase()}): the guest could not apply it: ${errorChain(err)}`,
          { cause: err },
        );
      });
      claim.done();
      this.opts.log.info({ net: { role: req.role, answer: claim.answer } }, 'network interface configured');
      return claim.answer;
    } catch (err) {
      claim.release();
      throw err;
    }
  }

  async kill(pid: number, signal: number): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > 64) {
      throw new ActivityError('BAD_SIGNAL', `signal ${signal} is out of range 1..64`, { reply: 'bad-request' });
    }
    const proc = this.running.get(pid);
    if (!proc) throw new ActivityError('NO_SUCH_PROCESS', `no running process with pid ${pid}`, { reply: 'not-found' });
    // A hung VM (QEMU stopped, the guest wedged) never answers: the ExeUnit gives KillProcess about 5 s.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      proc.kill(signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ActivityError(
                'GUEST_NOT_ANSWERING',
                `the VM did not answer KillProcess for pid ${pid} within ${KILL_ANSWER_MS / 1000} s`,
              ),
            ),
          KILL_ANSWER_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    const log = this.opts.log;
    const wasReady = this.state === 'ready';
    this.state = 'stopping';
    if (wasReady) {
      // One deadline for the whole guest phase: SHUTDOWN's reply (init syncs) and QEMU's own exit.
      const deadline = new Promise<'timeout'>((r) => setTimeout(r, GUEST_SHUTDOWN_MS, 'timeout').unref());
      this.vm.guestStopping();
      const res = await Promise.race([
        this.guest
          .shutdown()
          .then(() => this.vm.exited)
          .then(() => 'ok' as const),
        deadline,
      ]).catch((err: unknown) => {
        log.warn({ err }, 'guest shutdown request failed');
        return 'failed' as const;
      });
      if (res !== 'ok') log.warn({ res }, 'guest did not end the VM in time; stopping QEMU');
    }
    this.guest.close();
    try {
      await this.vm.stop();
    } finally {
      this.network.close();
    }
    this.state = 'stopped';
    log.info('activity stopped');
  }
}

/** A virtiofsd exited before its socket appeared, anywhere in the cause chain (a boot error wraps it). */
export function virtiofsdCouldNotStart(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if (e instanceof RuntimeError && e.code === 'VIRTIOFSD_EXITED') return true;
  return false;
}

async function chooseTransport(
  wanted: VolumeTransport,
  needed: boolean,
  virtiofsdPath: string | undefined,
  log: Logger,
): Promise<{ transport: 'virtiofs' | '9p' | 'none'; virtiofsd?: VirtiofsdBinary }> {
  if (!needed) return { transport: 'none' };
  if (wanted === '9p') return { transport: '9p' };
  try {
    return {
      transport: 'virtiofs',
      virtiofsd: await findVirtiofsd({
        ...(virtiofsdPath ? { explicitPath: virtiofsdPath } : {}),
        cacheDir: defaultCacheDir(),
      }),
    };
  } catch (err) {
    if (wanted === 'virtiofs') throw err;
    log.warn({ err }, 'virtiofsd not found: host volumes use 9p');
    return { transport: '9p' };
  }
}

/** Resolves the image User; reads /etc/passwd and /etc/group from the image only when a name must be looked up. */
async function imageUser(d: Deployment, log: Logger): Promise<ResolvedUser> {
  const user = d.config.user;
  if (user === '') return resolveUser(user, undefined, undefined);
  const cat = async (file: string): Promise<string | undefined> => {
    const r = await readImageFile(d.image.path, file, 'resolve the image User');
    if (!r.ok) log.warn({ file, stderr: r.stderr }, 'cannot read a file from the image');
    return r.ok ? r.text : undefined;
  };
  // passwd always (HOME, and a numeric uid's group); group only for a group name.
  const passwd = await cat('etc/passwd');
  const group = /:[^0-9]/.test(user) ? await cat('etc/group') : undefined;
  return resolveUser(user, passwd, group);
}

function netConfigSpec(deviceMac: string, plan: NicPlan): NetConfigSpec {
  const { isolate, ...nic } = plan;
  return { deviceMac, ...nic, flags: isolate ? NET_ISOLATE : 0 };
}

/** The MOUNT of one volume; image VOLUME paths ask the guest to seed the volume with the image's files there. */
function volumeMount(v: Volume, transport: 'virtiofs' | '9p' | 'none'): MountSpec {
  const spec = volumeSource(v, transport);
  return v.seedFromImage ? { ...spec, seed: true } : spec;
}

function volumeSource(v: Volume, transport: 'virtiofs' | '9p' | 'none'): MountSpec {
  switch (v.kind) {
    case 'host':
      return transport === '9p'
        ? {
            fstype: '9p',
            source: v.tag,
            target: v.guestPath,
            options: 'trans=virtio,version=9p2000.L,msize=524288,cache=mmap',
          }
        : { fstype: 'virtiofs', source: v.tag, target: v.guestPath, options: '' };
    case 'ram':
      return { fstype: 'tmpfs', source: 'tmpfs', target: v.guestPath, options: `size=${v.sizeBytes}` };
    case 'storage':
      return { fstype: 'ext4', source: v.serial, target: v.guestPath, options: v.errors ? `errors=${v.errors}` : '' };
  }
}

async function bootOnce(
  opts: ActivityOptions,
  files: GuestFiles,
  accel: AccelDecision,
  transport: 'virtiofs' | '9p' | 'none',
  virtiofsd: VirtiofsdBinary | undefined,
  nics: VmNic[],
  attempt: number,
): Promise<{ vm: VmHandle; guest: GuestClient }> {
  const d = opts.deployment;
  const log = opts.log.child({ attempt });
  const hosts = d.volumes.filter((v) => v.kind === 'host');
  const vm = await startVm(
    {
      workdir: opts.workdir,
      kernelPath: files.kernel,
      initrdPath: files.initramfs,
      accel: accel.accel,
      cpus: d.resources.cpuCores,
      memBytes: d.resources.memBytes,
      disks: [
        { path: d.image.path, serial: ROOTFS_SERIAL, readOnly: true },
        ...(d.rootUpper.kind === 'disk'
          ? [{ path: d.rootUpper.path, serial: d.rootUpper.serial, readOnly: false }]
          : []),
        ...d.volumes.flatMap((v) =>
          v.kind === 'storage' ? [{ path: v.diskPath, serial: v.serial, readOnly: false }] : [],
        ),
      ],
      ...(transport === 'virtiofs' ? { virtiofs: hosts.map((v) => ({ tag: v.tag, hostPath: v.hostPath })) } : {}),
      ...(transport === '9p' ? { ninep: hosts.map((v) => ({ tag: v.tag, hostPath: v.hostPath })) } : {}),
      ...(virtiofsd ? { virtiofsd } : {}),
      nics,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onQemuSpawned ? { onQemuSpawned: opts.onQemuSpawned } : {}),
      stopGraceMs: STOP_GRACE_MS,
    },
    log,
  );
  const guest = new GuestClient(vm.agent);
  guest.onLog((level, message) =>
    log[level === 'fatal' ? 'error' : level === 'warning' ? 'warn' : 'info']({ guest: message }, 'guest log'),
  );
  const fail = async (code: BootErrorCode, what: string, err: unknown): Promise<never> => {
    guest.close();
    await vm.stop().catch((e: unknown) => log.error({ err: e }, 'teardown after failed boot'));
    const tail = (await vm.consoleTail(5).catch(() => '')).trim().split('\n').filter(Boolean).slice(-3).join(' | ');
    throw new BootError(code, `${what}${tail ? `; last console lines: ${tail}` : ''}`, { cause: err });
  };
  const helloMs = opts.helloTimeoutMs ?? (accel.accel === 'kvm' ? 15_000 : 60_000);
  const hello = await bounded(guest.hello(), vm, helloMs, 'the guest agent did not answer', opts.signal).catch(
    (err: unknown) => fail('BOOT_NO_HANDSHAKE', `boot attempt ${attempt} failed: ${errorChain(err)}`, err),
  );
  log.info({ hello }, 'guest agent connected');
  try {
    const mounts = async (): Promise<void> => {
      await guest.mountRoot({
        imageSerial: ROOTFS_SERIAL,
        upperSerial: d.rootUpper.kind === 'disk' ? d.rootUpper.serial : '',
        tmpfsSize: d.rootUpper.kind === 'tmpfs' ? d.rootUpper.sizeBytes : 0,
        hostname: d.hostname,
      });
      await guest.limits(guestLimits(d.resources.memBytes, opts.limits));
      for (const v of d.volumes) await guest.mount(volumeMount(v, transport));
      if (opts.userNet) await guest.netConfig(netConfigSpec(USER_NET_MAC, USER_NET_PLAN));
    };
    await bounded(mounts(), vm, MOUNT_TIMEOUT_MS, 'the guest did not finish its mounts', opts.signal);
  } catch (err) {
    return fail('BOOT_MOUNT_FAILED', `cannot set up the guest filesystem of ${d.image.path}: ${errorChain(err)}`, err);
  }
  return { vm, guest };
}

/** `step` raced against QEMU's exit, a time bound and the caller's abort signal (whichever comes first). */
function bounded<T>(
  step: Promise<T>,
  vm: VmHandle,
  ms: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  return Promise.race([
    step,
    vm.exited.then((e) => Promise.reject(new Error(`${e.description} while waiting: ${what}`))),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
      onAbort = () => reject(new Error('boot cancelled (the activity is shutting down)'));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  ]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}
