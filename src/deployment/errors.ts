import { RuntimeError } from '../errors.js';

/** Bad deployment input (override JSON, sizes, guest paths) or a failure to lay out the workdir. */
export class DeploymentError extends RuntimeError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, reply: 'bad-request' });
  }
}

/** A disk image could not be created or formatted (DISK_*). Not a DeploymentError: a host without qemu-img or
 * mkfs.ext4 is the host's fault, not the input's (reply `internal`, exit code 5 like the other host failures). */
export class DiskError extends RuntimeError {}
