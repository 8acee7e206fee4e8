/**
 * Base error of the runtime. Every concern defines subclasses in its own errors.ts (ImageError, DeploymentError,
 * VmStartError, GuestProtocolError, ...). Each carries:
 *  - `code`: a stable string naming the failure kind (e.g. "IMAGE_CRC_MISMATCH"), for logs and tests;
 *  - `reply`: how the service protocol reports it (`internal` | `not-found` | `bad-request`, the ExeUnit's ErrorCode);
 *  - `cause`: the lower-level error it wraps, never replaced (printed as a chain by the CLI).
 */
export type ReplyKind = 'internal' | 'not-found' | 'bad-request';

export class RuntimeError extends Error {
  readonly code: string;
  readonly reply: ReplyKind;

  constructor(code: string, message: string, options: { cause?: unknown; reply?: ReplyKind } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.reply = options.reply ?? 'internal';
  }
}

/** One line: the message of the error and of each cause below it, joined by ": " (repeats dropped). */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ').replace(/\s*\n\s*/g, ' ');
}
