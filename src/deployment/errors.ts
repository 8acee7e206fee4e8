import { RuntimeError, type ReplyKind } from '../errors.js';

/** Codes of DeploymentError (exit code 4). */
export const DEPLOYMENT_ERROR_CODES = [
  'BAD_OVERRIDE_JSON',
  'BAD_OVERRIDE_MOUNT',
  'BAD_OVERRIDE_SIZE',
  'BAD_GUEST_PATH',
  'BAD_IMAGE_VOLUME',
  'HOST_ROOT',
  'BAD_RESOURCES',
  'BAD_HOSTNAME',
  'NOT_DEPLOYED',
  'BAD_DEPLOYMENT',
] as const;
export type DeploymentErrorCode = (typeof DEPLOYMENT_ERROR_CODES)[number];

/** Codes of DiskError (exit code 5). */
export const DISK_ERROR_CODES = ['DISK_BAD_SIZE', 'DISK_CREATE_FAILED', 'DISK_TOOL_MISSING'] as const;
export type DiskErrorCode = (typeof DISK_ERROR_CODES)[number];

/** Bad deployment input (override JSON, sizes, guest paths) or a failure to lay out the workdir. */
export class DeploymentError extends RuntimeError {
  constructor(code: DeploymentErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, reply: 'bad-request' });
  }
}

/** A disk image could not be created or formatted (DISK_*). Not a DeploymentError: a host without qemu-img or
 * mkfs.ext4 is the host's fault, not the input's (reply `internal`, exit code 5 like the other host failures). */
export class DiskError extends RuntimeError {
  constructor(code: DiskErrorCode, message: string, options: { cause?: unknown; reply?: ReplyKind } = {}) {
    super(code, message, options);
  }
}
