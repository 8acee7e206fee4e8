/**
 * Errors of the VM layer (QEMU, virtiofsd, accelerator probe, disks, guest files). Each class names one operation;
 * `code` is stable (tests and logs match on it); messages are built from what happened, most specific first
 * ("QEMU exited with code 1 before the agent socket was ready; last console line: ..."). The low-level error is kept
 * as `cause`, never replaced.
 */
import { RuntimeError, type ReplyKind } from '../errors.js';

/** Codes of the VM layer (VmError and its subclasses; exit code 5). */
export const VM_ERROR_CODES = [
  'QEMU_NOT_FOUND',
  'QEMU_EXITED_EARLY',
  'AGENT_SOCKET_TIMEOUT',
  'AGENT_CONNECT_FAILED',
  'VM_FILE_MISSING',
  'VM_SHARE_NOT_A_DIRECTORY',
  'VM_START_ABORTED',
  'KVM_UNUSABLE',
  'VIRTIOFSD_NOT_FOUND',
  'VIRTIOFSD_UNKNOWN',
  'VIRTIOFSD_BAD_OPTION',
  'VIRTIOFSD_EXITED',
  'VIRTIOFSD_SOCKET_TIMEOUT',
  'GUEST_NOT_BUILT',
  'GUEST_MANIFEST_BAD',
  'GUEST_PROTOCOL_MISMATCH',
  'PROCESS_LINGERED',
] as const;
export type VmErrorCode = (typeof VM_ERROR_CODES)[number];

export class VmError extends RuntimeError {
  constructor(code: VmErrorCode, message: string, options: { cause?: unknown; reply?: ReplyKind } = {}) {
    super(code, message, options);
  }
}

/** The VM could not be brought up: QEMU missing or exiting early, agent socket never appeared, helper failed. */
export class VmStartError extends VmError {}

/** The requested accelerator cannot be used (e.g. `--accel kvm` on a host whose KVM cannot run guests). */
export class AccelError extends VmError {}

/** virtiofsd missing, of an unknown kind, or failed to start. */
export class VirtiofsdError extends VmError {}

/** The guest kernel / initramfs are not where we look for them. */
export class GuestFilesError extends VmError {}

/** Teardown left something behind (a process still running after SIGKILL). */
export class VmStopError extends VmError {}

/** How a child process ended, as the supervisor reports it. */
export interface ChildEnd {
  name: string;
  pid: number;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Signal name (e.g. "SIGKILL"), or null. */
  signal: string | null;
  /** Set when the process could not be spawned or waited for. */
  error?: unknown;
}

/** "exited with code 1" / "was killed by SIGKILL" / "could not be started: <reason>". */
export function describeEnd(end: Pick<ChildEnd, 'code' | 'signal' | 'error'>): string {
  if (end.signal) return `was killed by ${end.signal}`;
  if (end.code !== null) return `exited with code ${end.code}`;
  if (end.error !== undefined) {
    const msg = end.error instanceof Error ? end.error.message : String(end.error);
    return `could not be started: ${msg}`;
  }
  return 'ended';
}

/**
 * "QEMU exited with code 1 before the agent socket was ready; QEMU said: ...; last console line: ...".
 * `stderrLine` and `consoleLine` are optional facts appended when present.
 */
export function describeEarlyExit(
  what: string,
  end: Pick<ChildEnd, 'code' | 'signal' | 'error'>,
  when: string,
  facts: { stderrLine?: string; consoleLine?: string } = {},
): string {
  let msg = `${what} ${describeEnd(end)} ${when}`;
  if (facts.stderrLine) msg += `; ${what} said: ${facts.stderrLine}`;
  msg += facts.consoleLine ? `; last console line: ${facts.consoleLine}` : '; the console is empty';
  return msg;
}
