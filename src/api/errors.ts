/**
 * Errors of the ExeUnit service protocol (src/api/). Each is a RuntimeError with a stable `code`:
 *  - FrameLengthError       FRAME_TOO_LARGE        a length prefix above the maximum frame length (checked before the
 *                                                  body is buffered); the stream cannot be resynced;
 *                           FRAME_BAD_PREFIX       a length prefix varint longer than 10 bytes;
 *  - FrameTruncatedError    FRAME_TRUNCATED        the input ended in the middle of a frame;
 *  - MessageDecodeError     MESSAGE_DECODE_FAILED  a complete frame whose body is not a valid Request (the next frame
 *                                                  is still readable, so the service keeps serving);
 *  - StreamIoError          INPUT_FAILED / OUTPUT_FAILED  the stdin/stdout stream itself failed (`cause`: the Node error);
 *  - OutputClosedError      OUTPUT_CLOSED          a write after the writer was closed or the stream ended;
 *  - ServiceRequestError    REQUEST_NO_COMMAND, NOT_STARTED, NOT_BOOTED, BAD_RUN_REQUEST, BAD_NETWORK_REQUEST,
 *                           SHUTTING_DOWN: a request the service refuses, answered with an Error reply.
 */
import { RuntimeError, type ReplyKind } from '../errors.js';

/** Codes of ServiceRequestError: requests the service refuses. */
export const SERVICE_REQUEST_CODES = [
  'REQUEST_NO_COMMAND',
  'NOT_STARTED',
  'NOT_BOOTED',
  'BAD_RUN_REQUEST',
  'BAD_NETWORK_REQUEST',
  'SHUTTING_DOWN',
] as const;
export type ServiceRequestCode = (typeof SERVICE_REQUEST_CODES)[number];

/** Every code of the service protocol layer. */
export const API_ERROR_CODES = [
  'FRAME_TOO_LARGE',
  'FRAME_BAD_PREFIX',
  'FRAME_TRUNCATED',
  'MESSAGE_DECODE_FAILED',
  'INPUT_FAILED',
  'OUTPUT_FAILED',
  'OUTPUT_CLOSED',
  ...SERVICE_REQUEST_CODES,
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export class FrameLengthError extends RuntimeError {
  /** Declared length, or undefined when the varint itself was invalid. */
  readonly length: number | undefined;
  readonly maxLength: number;

  constructor(
    code: 'FRAME_TOO_LARGE' | 'FRAME_BAD_PREFIX',
    message: string,
    length: number | undefined,
    maxLength: number,
  ) {
    super(code, message, { reply: 'bad-request' });
    this.length = length;
    this.maxLength = maxLength;
  }
}

export class FrameTruncatedError extends RuntimeError {
  /** Bytes left over (prefix included) when the input ended. */
  readonly pending: number;

  constructor(pending: number) {
    super('FRAME_TRUNCATED', `input ended in the middle of a frame (${pending} bytes pending)`, {
      reply: 'bad-request',
    });
    this.pending = pending;
  }
}

export class MessageDecodeError extends RuntimeError {
  readonly frameLength: number;

  constructor(message: string, frameLength: number, cause: unknown) {
    super('MESSAGE_DECODE_FAILED', message, { cause, reply: 'bad-request' });
    this.frameLength = frameLength;
  }
}

export class StreamIoError extends RuntimeError {
  constructor(code: 'INPUT_FAILED' | 'OUTPUT_FAILED', message: string, cause: unknown) {
    super(code, message, { cause });
  }
}

export class OutputClosedError extends RuntimeError {
  constructor(message: string, cause?: unknown) {
    super('OUTPUT_CLOSED', message, { cause });
  }
}

export class ServiceRequestError extends RuntimeError {
  constructor(code: ServiceRequestCode, message: string, options: { cause?: unknown; reply?: ReplyKind } = {}) {
    super(code, message, { cause: options.cause, reply: options.reply ?? 'bad-request' });
  }
}
