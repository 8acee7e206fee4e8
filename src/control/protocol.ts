/**
 * The control-socket protocol: JSON-RPC 2.0 (vscode-jsonrpc framing: `Content-Length` header + JSON body) on
 * `<workdir>/control.sock`, served by `start` (src/control/server.ts), used by `run` (src/control/client.ts).
 * This module declares every method once, with its params and result, and is imported by both ends.
 *
 * Life of a command:
 *   client → `run` {bin, argv, workDir?, env?, stdin?}          ← {pid}
 *   server → `output` {pid, fd: 1|2, data: base64} …            (in order; each sent once the previous one was
 *                                                                written to the socket, so a slow client slows the
 *                                                                guest process instead of growing our memory)
 *   client → `stdin` {pid, data: base64} / `closeStdin` {pid}    ← null (only with `stdin: true`)
 *   server → `exit` {pid, code, signal, error?}                  (after the last `output` of that pid)
 * Output notifications may reach the client before the `run` response that names their pid; the client holds them
 * until it knows the pid. A process belongs to the connection that started it: when that connection closes, the
 * server SIGKILLs it (unless it already ended). `kill` may name any pid of the activity.
 *
 * Errors are JSON-RPC errors with the codes below; the message is the error chain on one line.
 * Params are validated by the server with the zod schemas here; unknown fields are rejected with InvalidParams
 * naming the field.
 */
import { ErrorCodes, NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import * as z from '../schema.js';
import type { ActivityStatus } from '../activity-api.js';

/** Largest JSON-RPC body either end accepts (checked from the header, before the body is buffered). */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Largest raw chunk put in one `output` or `stdin` message (base64 makes it 4/3 larger). */
export const MAX_CHUNK_BYTES = 1024 * 1024;

/** Error codes of control replies. InvalidParams and InternalError are JSON-RPC's own. */
export const ControlErrorCodes = {
  /** Bad params (schema) or a request the activity refused as malformed (RuntimeError reply 'bad-request'). */
  InvalidParams: ErrorCodes.InvalidParams,
  /** Anything else that went wrong in the runtime. */
  InternalError: ErrorCodes.InternalError,
  /** The activity reported 'not-found' (e.g. the binary does not exist in the image). */
  NotFound: 1,
  /** `stdin`/`closeStdin` for a pid this connection did not start, or that already ended. */
  UnknownProcess: 2,
} as const;
export type ControlErrorCode = (typeof ControlErrorCodes)[keyof typeof ControlErrorCodes];

/** The `data` of an error reply: for a `run` whose binary is missing or cannot be executed, which of the two. */
export const ErrorDataSchema = z.object({ startFailure: z.optional(z.enum(['not-found', 'not-executable'])) });
export type ErrorData = z.infer<typeof ErrorDataSchema>;

const pid = z.int().check(z.positive());
const base64 = z.string().check(z.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64'));

export const RunParamsSchema = z.strictObject({
  bin: z.string().check(z.minLength(1)),
  argv: z.array(z.string()),
  workDir: z.optional(z.string()),
  env: z.optional(z.array(z.string().check(z.regex(/^[^=]+=/, 'expected K=V')))),
  stdin: z.optional(z.boolean()),
});
export type RunParams = z.infer<typeof RunParamsSchema>;
export interface RunResult {
  pid: number;
}

export const StdinParamsSchema = z.strictObject({ pid, data: base64 });
export type StdinParams = z.infer<typeof StdinParamsSchema>;

export const CloseStdinParamsSchema = z.strictObject({ pid });
export type CloseStdinParams = z.infer<typeof CloseStdinParamsSchema>;

/** `signal` is a Linux signal number (1…64); the client turns names into numbers. */
export const KillParamsSchema = z.strictObject({ pid, signal: z.int().check(z.gte(1), z.lte(64)) });
export type KillParams = z.infer<typeof KillParamsSchema>;

/** `status` and `shutdown` take no params; an empty object is accepted too. */
export const NoParamsSchema = z.nullish(z.strictObject({}));

export const OutputParamsSchema = z.strictObject({ pid, fd: z.union([z.literal(1), z.literal(2)]), data: base64 });
export type OutputParams = z.infer<typeof OutputParamsSchema>;

export const ExitParamsSchema = z.strictObject({
  pid,
  /** Exit status (128+N after signal N); -1 when there is none because of `error`. */
  code: z.int(),
  signal: z.nullable(z.int()),
  /** Set when the process did not end normally (e.g. the VM died while it ran): the error chain. */
  error: z.optional(z.string()),
});
export type ExitParams = z.infer<typeof ExitParamsSchema>;

export const RunRequest = new RequestType<RunParams, RunResult, void>('run');
export const StdinRequest = new RequestType<StdinParams, null, void>('stdin');
export const CloseStdinRequest = new RequestType<CloseStdinParams, null, void>('closeStdin');
export const KillRequest = new RequestType<KillParams, null, void>('kill');
export const StatusRequest = new RequestType0<ActivityStatus, void>('status');
/** Asks `start` to end the activity; answered before the shutdown begins. */
export const ShutdownRequest = new RequestType0<null, void>('shutdown');

export const OutputNotification = new NotificationType<OutputParams>('output');
export const ExitNotification = new NotificationType<ExitParams>('exit');

/** "run: unknown field \"foo\"" / "run: field \"argv.1\": Invalid input: expected string, received number". */
export function describeParamsError(method: string, error: z.core.$ZodError): string {
  const parts = error.issues.map((issue) => {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const names = issue.keys.map((k) => JSON.stringify(at ? `${at}.${k}` : k)).join(', ');
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${names}`;
    }
    return at ? `field ${JSON.stringify(at)}: ${issue.message}` : issue.message;
  });
  return `${method}: ${parts.join('; ')}`;
}
