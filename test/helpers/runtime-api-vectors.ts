/**
 * Loads the ExeUnit service protocol vectors, test/vectors/runtime-api/frames.txt (docs/yagna-contract.md,
 * section 3.7): pairs of a comment line ("# request: …" or "# response: …") and one delimited frame in hex.
 */
import fs from 'node:fs';
import { RUNTIME_API_FRAMES } from './paths.js';

export interface FrameVector {
  direction: 'request' | 'response';
  /** The comment after "request: " / "response: ". */
  description: string;
  /** The whole frame, length prefix included. */
  frame: Uint8Array;
  /** 1-based line of the hex in frames.txt. */
  line: number;
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new Error(`not hex: ${hex}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function loadFrameVectors(file: string = RUNTIME_API_FRAMES): FrameVector[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const vectors: FrameVector[] = [];
  let pending: { direction: 'request' | 'response'; description: string } | undefined;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const comment = /^#\s*(request|response):\s*(.*)$/.exec(line);
    if (comment) {
      pending = { direction: comment[1] as 'request' | 'response', description: comment[2] ?? '' };
      return;
    }
    if (line.startsWith('#')) return;
    if (!pending) throw new Error(`${file}:${index + 1}: frame without a request/response comment`);
    vectors.push({ ...pending, frame: fromHex(line), line: index + 1 });
    pending = undefined;
  });
  return vectors;
}
