/** Errors of the Activity facade (activity.ts): booting a deployment, and running processes in it. */
import type { StartFailure } from './activity-api.js';
import { RuntimeError, type ReplyKind } from './errors.js';

/** Codes of BootError. BOOT_NO_HANDSHAKE is retried once. */
export const BOOT_ERROR_CODES = ['BOOT_NO_HANDSHAKE', 'BOOT_MOUNT_FAILED'] as const;
export type BootErrorCode = (typeof BOOT_ERROR_CODES)[number];

/** Codes of ActivityError. */
export const ACTIVITY_ERROR_CODES = [
  'EXEC_FAILED',
  'NOT_RUNNING',
  'VM_ENDED',
  'GUEST_KERNEL_PANIC',
  'NO_SUCH_PROCESS',
  'BAD_SIGNAL',
  'NETWORK_CONFIG_FAILED',
  'GUEST_NOT_ANSWERING',
] as const;
export type ActivityErrorCode = (typeof ACTIVITY_ERROR_CODES)[number];

export class BootError extends RuntimeError {
  constructor(code: BootErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

export class ActivityError extends RuntimeError {
  constructor(code: ActivityErrorCode, message: string, options: { cause?: unknown; reply?: ReplyKind } = {}) {
    super(code, message, options);
  }
}

/** EXEC_FAILED: the binary is missing or cannot be executed; `startFailure` says which. */
export class ExecFailedError extends ActivityError {
  readonly startFailure: StartFailure;
  constructor(startFailure: StartFailure, message: string, options: { cause?: unknown } = {}) {
    super('EXEC_FAILED', message, { ...options, reply: 'not-found' });
    this.startFailure = startFailure;
  }
}
