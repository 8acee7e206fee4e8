/**
 * Errors of the guest channel (docs/guest-protocol.md). Each is a RuntimeError with a stable `code`:
 *  - GuestProtocolError   GUEST_PROTOCOL         a malformed or unexpected frame; the channel is broken from then on;
 *  - GuestRequestError    GUEST_REQUEST_FAILED   init answered a request with ERROR{errno, message};
 *  - GuestChannelClosedError GUEST_CHANNEL_CLOSED the channel ended (QEMU died, socket error, close()) while a request
 *                         or a process was still waiting; `cause` is what ended it, when known;
 *  - GuestArgumentError   GUEST_BAD_ARGUMENT     a request the host refuses to encode (NUL in a path, too large ...);
 *  - GuestOutputError     GUEST_OUTPUT_FAILED    the OutputSink rejected a chunk of a process's output.
 */
import { RuntimeError, type ReplyKind } from '../errors.js';

/** Codes of the guest channel errors. */
export const GUEST_ERROR_CODES = [
  'GUEST_PROTOCOL',
  'GUEST_VERSION_MISMATCH',
  'GUEST_REQUEST_FAILED',
  'GUEST_CHANNEL_CLOSED',
  'GUEST_BAD_ARGUMENT',
  'GUEST_OUTPUT_FAILED',
] as const;
export type GuestErrorCode = (typeof GUEST_ERROR_CODES)[number];

export class GuestProtocolError extends RuntimeError {
  constructor(message: string, options: { cause?: unknown; code?: 'GUEST_PROTOCOL' | 'GUEST_VERSION_MISMATCH' } = {}) {
    super(options.code ?? 'GUEST_PROTOCOL', message, { cause: options.cause });
  }
}

export class GuestRequestError extends RuntimeError {
  /** Request that failed, e.g. "RUN". */
  readonly op: string;
  /** Linux errno from the guest (positive). */
  readonly errno: number;
  /** Name of the errno ("ENOENT"), or "" when unknown. */
  readonly errnoName: string;
  /** Message from init, e.g. "exec sh2: No such file or directory". */
  readonly guestMessage: string;

  constructor(op: string, what: string, errno: number, errnoName: string, guestMessage: string, reply: ReplyKind) {
    const name = errnoName === '' ? `errno ${errno}` : errnoName;
    super('GUEST_REQUEST_FAILED', `${what}: ${guestMessage} (${name})`, { reply });
    this.op = op;
    this.errno = errno;
    this.errnoName = errnoName;
    this.guestMessage = guestMessage;
  }
}

export class GuestChannelClosedError extends RuntimeError {
  constructor(message: string, cause?: unknown) {
    super('GUEST_CHANNEL_CLOSED', message, { cause });
  }
}

export class GuestArgumentError extends RuntimeError {
  constructor(message: string) {
    super('GUEST_BAD_ARGUMENT', message, { reply: 'bad-request' });
  }
}

export class GuestOutputError extends RuntimeError {
  constructor(message: string, cause: unknown) {
    super('GUEST_OUTPUT_FAILED', message, { cause });
  }
}
