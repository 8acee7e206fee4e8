/**
 * Pure mapping between protobuf messages and service values: decoding a Request body, building every Response the
 * service sends, and mapping errors to the ExeUnit's ErrorCode. No I/O. Wire facts (docs/yagna-contract.md
 * section 3.2): Response.id is field 2; events carry `event: true` and id 0; empty messages in the oneof (kill{},
 * shutdown{}) are still encoded, which protobuf-es does for any set message field.
 */
import { create, fromBinary } from '@bufbuild/protobuf';
import { sizeDelimitedEncode } from '@bufbuild/protobuf/wire';
import { RuntimeError, errorChain } from '../errors.js';
import { MessageDecodeError } from './errors.js';
import {
  NetworkInterface,
  RequestSchema,
  ResponseSchema,
  Response_ErrorCode,
  type Request,
  type Response,
} from './generated/runtime_pb.js';

export { NetworkInterface, Response_ErrorCode };
export type { Request, Response };

/** Largest stdout/stderr delta put in one ProcessStatus event; bigger chunks are split. */
export const MAX_OUTPUT_CHUNK = 1024 * 1024;

export function decodeRequest(body: Uint8Array): Request {
  try {
    return fromBinary(RequestSchema, body);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new MessageDecodeError(`malformed request frame (${body.length} bytes): ${reason}`, body.length, err);
  }
}

/** One response as a whole frame: varint length prefix and body. */
export function encodeResponseFrame(response: Response): Uint8Array {
  return sizeDelimitedEncode(ResponseSchema, response);
}

export function helloReply(id: bigint, version: string): Response {
  return create(ResponseSchema, { id, command: { case: 'hello', value: { version } } });
}

export function runReply(id: bigint, pid: number): Response {
  return create(ResponseSchema, { id, command: { case: 'run', value: { pid: BigInt(pid) } } });
}

/** CreateNetwork reply: the endpoint where the ExeUnit must send the interface's frames (`udp_datagram` is a bare
 * `ip:port`, as ya-runtime-vm answers; `tcp_stream` likewise). */
export function networkReply(id: bigint, answer: { kind: 'udp' | 'tcp'; address: string }): Response {
  const endpoint =
    answer.kind === 'udp'
      ? ({ case: 'udpDatagram', value: answer.address } as const)
      : ({ case: 'tcpStream', value: answer.address } as const);
  return create(ResponseSchema, { id, command: { case: 'network', value: { endpoint } } });
}

export function killReply(id: bigint): Response {
  return create(ResponseSchema, { id, command: { case: 'kill', value: {} } });
}

export function shutdownReply(id: bigint): Response {
  return create(ResponseSchema, { id, command: { case: 'shutdown', value: {} } });
}

/** ErrorCode for a failure: from RuntimeError.reply, INTERNAL for anything else. */
export function errorCodeOf(err: unknown): Response_ErrorCode {
  if (!(err instanceof RuntimeError)) return Response_ErrorCode.INTERNAL;
  switch (err.reply) {
    case 'not-found':
      return Response_ErrorCode.NOT_FOUND;
    case 'bad-request':
      return Response_ErrorCode.BAD_REQUEST;
    default:
      return Response_ErrorCode.INTERNAL;
  }
}

/** Error reply: the code from the error's class, the one-line error chain as message (never a stack), and the
 * RuntimeError's stable code under context["code"]. */
export function errorReply(id: bigint, err: unknown): Response {
  const context: Record<string, string> = err instanceof RuntimeError ? { code: err.code } : {};
  return create(ResponseSchema, {
    id,
    command: { case: 'error', value: { code: errorCodeOf(err), message: errorChain(err) || 'unknown error', context } },
  });
}

export interface StatusFields {
  running: boolean;
  returnCode?: number;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
}

/** ProcessStatus event (event: true, id 0). */
export function statusEvent(pid: number, fields: StatusFields): Response {
  return create(ResponseSchema, {
    event: true,
    command: {
      case: 'status',
      value: {
        pid: BigInt(pid),
        running: fields.running,
        returnCode: fields.returnCode ?? 0,
        stdout: fields.stdout ?? new Uint8Array(0),
        stderr: fields.stderr ?? new Uint8Array(0),
      },
    },
  });
}

/** Splits an output delta into pieces of at most MAX_OUTPUT_CHUNK bytes (views, no copy). */
export function splitChunk(chunk: Uint8Array, max: number = MAX_OUTPUT_CHUNK): Uint8Array[] {
  if (chunk.length <= max) return [chunk];
  const pieces: Uint8Array[] = [];
  for (let off = 0; off < chunk.length; off += max) pieces.push(chunk.subarray(off, off + max));
  return pieces;
}
