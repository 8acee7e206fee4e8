/**
 * Errors of the control socket (both ends). `code` is stable; `rpcCode` is the JSON-RPC error code a reply carried
 * (see ControlErrorCodes in protocol.ts), when the error came from the server.
 */
import type { StartFailure } from '../activity-api.js';
import { RuntimeError, type ReplyKind } from '../errors.js';

/** Codes of ControlError and its subclasses (exit code 5). */
export const CONTROL_ERROR_CODES = [
  'CONTROL_NOT_RUNNING',
  'CONTROL_CONNECT',
  'CONTROL_CLOSED',
  'CONTROL_BAD_MESSAGE',
  'CONTROL_BAD_SIGNAL',
  'CONTROL_PROCESS_FAILED',
  'CONTROL_REQUEST_FAILED',
  'CONTROL_FRAME_HEADER',
  'CONTROL_FRAME_TOO_LARGE',
  'CONTROL_SOCKET_IN_USE',
  'CONTROL_SOCKET_LISTEN',
  'CONTROL_SOCKET_NOT_SOCKET',
  'CONTROL_SOCKET_PROBE',
  'CONTROL_SOCKET_STAT',
] as const;
export type ControlErrorCode = (typeof CONTROL_ERROR_CODES)[number];

export class ControlError extends RuntimeError {
  constructor(code: ControlErrorCode, message: string, options: { cause?: unknown; reply?: ReplyKind } = {}) {
    super(code, message, options);
  }
}

/** Nobody listens on the socket (ENOENT / ECONNREFUSED), or another `start` already does. */
export class ControlSocketError extends ControlError {}

/** A peer sent a frame over MAX_FRAME_BYTES or a malformed header. */
export class ControlFrameError extends ControlError {}

/** The server answered a request with an error. */
export class ControlRequestError extends ControlError {
  readonly method: string;
  readonly rpcCode: number;
  /** For a `run` that could not start its binary: missing or not executable (the server's ExecFailedError). */
  readonly startFailure: StartFailure | undefined;
  constructor(method: string, rpcCode: number, message: string, reply: ReplyKind, startFailure?: StartFailure) {
    super('CONTROL_REQUEST_FAILED', message, { reply });
    this.method = method;
    this.rpcCode = rpcCode;
    this.startFailure = startFailure;
  }
}

/** The connection to `start` closed while a request or a process was pending. */
export class ControlClosedError extends ControlError {}
