/**
 * The one facade both front-ends (the stdio service in src/api/ and the control socket in src/control/) drive.
 * Implemented by src/activity.ts on top of the VM and the guest client. Front-ends never touch QEMU or the guest
 * protocol themselves.
 */

/** Where a process's output goes. The returned promise resolves once the chunk was delivered (written to our
 * stdout, or to the socket); only then is the guest granted credit for more, so a slow consumer slows the process. */
export interface OutputSink {
  stdout(chunk: Uint8Array): Promise<void>;
  stderr(chunk: Uint8Array): Promise<void>;
}

export interface ExecSpec {
  /** Program: absolute path, or a bare name looked up in the image's PATH. */
  bin: string;
  /** Full argv, argv[0] included (the ExeUnit sends basename(bin) there). */
  argv: string[];
  /** Working directory in the guest; empty/undefined = image WorkingDir, else "/". */
  workDir?: string;
  /** Extra environment entries (K=V) on top of the image Env. */
  env?: string[];
  /** Keep stdin open for writeStdin(); otherwise the process sees EOF at once. */
  stdin?: boolean;
}

/** Why a process could not start, as a shell tells the two apart (`run` exits 127 and 126, src/cli/exit-codes.ts):
 * the binary does not exist, or it exists but cannot be executed. */
export type StartFailure = 'not-found' | 'not-executable';

export interface ExitStatus {
  /** Exit status; 128+N when killed by signal N. */
  code: number;
  /** The signal that killed the process, or null. */
  signal: number | null;
}

export interface ProcessHandle {
  /** Unique for the life of the activity, never reused. */
  pid: number;
  /** Resolves after the last output chunk was delivered to the sink. Rejects with a RuntimeError if the VM or the
   * guest channel dies while the process runs. */
  exit: Promise<ExitStatus>;
  writeStdin(data: Uint8Array): Promise<void>;
  closeStdin(): Promise<void>;
}

export interface ActivityStatus {
  state: 'booting' | 'ready' | 'stopping' | 'stopped';
  accel: string;
  processes: number[];
  image: string;
}

/** One network of a CreateNetwork request, as the ExeUnit sends it (docs/networking.md): dotted IPv4 strings,
 * `gateway` may be empty. */
export interface NetworkSpec {
  addr: string;
  gateway: string;
  mask: string;
  ifAddr: string;
}

export interface NetworkRequest {
  /** The interface: the VPN NIC, or the INET one. */
  role: 'vpn' | 'inet';
  networks: NetworkSpec[];
  /** hostname -> IPv4, appended to the guest's /etc/hosts. */
  hosts: Record<string, string>;
}

/** Where the ExeUnit must send the interface's frames: a UDP `127.0.0.1:PORT`, or a TCP stream's address. */
export interface NetworkAnswer {
  kind: 'udp' | 'tcp';
  address: string;
}

export interface ActivityApi {
  /** Starts a process. Rejects with a RuntimeError if it cannot start: for a binary that is missing or cannot be
   * executed, one with reply 'not-found' and a `startFailure` (ExecFailedError, src/activity-errors.ts). */
  exec(spec: ExecSpec, sink: OutputSink): Promise<ProcessHandle>;
  /** Configures the VM's VPN or INET interface. Rejects with a RuntimeError (reply 'bad-request') for a request it
   * refuses (no such interface, configured already, malformed network); nothing is changed then. */
  createNetwork(req: NetworkRequest): Promise<NetworkAnswer>;
  /** Sends a signal to a running process (its process group). */
  kill(pid: number, signal: number): Promise<void>;
  status(): ActivityStatus;
  /** Syncs guest filesystems, ends the VM and every helper process, removes sockets. Idempotent. */
  shutdown(): Promise<void>;
}
