/**
 * What vscode-jsonrpc lacks: a maximum frame length. vscode-jsonrpc's reader buffers a whole body of whatever
 * `Content-Length` the peer announces; this pure, incremental scanner follows the same framing (ASCII headers ended
 * by CRLF CRLF, then exactly Content-Length body bytes) and throws a ControlFrameError as soon as a header announces
 * more than the limit, before any of that body is buffered. It only looks at the bytes; the caller passes them on
 * unchanged (see transport.ts).
 */
import { ControlFrameError } from './errors.js';

const MAX_HEADER_BYTES = 8192;

export class FrameGuard {
  private inBody = false;
  private bodyLeft = 0;
  private header = '';

  constructor(private readonly maxBody: number) {}

  /** Scans the next chunk of the stream; throws ControlFrameError on an oversized or malformed header. */
  check(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.inBody) {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        i += n;
        this.bodyLeft -= n;
        if (this.bodyLeft === 0) this.inBody = false;
        continue;
      }
      // Header bytes: few per message (~25), scanned one at a time.
      this.header += String.fromCharCode(chunk[i]!);
      i++;
      if (this.header.length > MAX_HEADER_BYTES) {
        throw new ControlFrameError('CONTROL_FRAME_HEADER', `frame header longer than ${MAX_HEADER_BYTES} bytes`);
      }
      if (this.header.endsWith('\r\n\r\n')) {
        const length = contentLength(this.header);
        this.header = '';
        if (length > this.maxBody) {
          throw new ControlFrameError(
            'CONTROL_FRAME_TOO_LARGE',
            `frame of ${length} bytes exceeds the limit of ${this.maxBody} bytes`,
          );
        }
        this.bodyLeft = length;
        this.inBody = length > 0;
      }
    }
  }
}

function contentLength(header: string): number {
  for (const line of header.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    if (!/^\d{1,15}$/.test(value)) {
      throw new ControlFrameError('CONTROL_FRAME_HEADER', `bad Content-Length ${JSON.stringify(value.slice(0, 32))}`);
    }
    return Number(value);
  }
  throw new ControlFrameError('CONTROL_FRAME_HEADER', 'frame header without Content-Length');
}
