/**
 * One-line text form of a guest protocol message, as used in the comments of test/vectors/guest/*.txt and in logs:
 * `NAME{id=N, field=value, ...}` with the field names of docs/guest-protocol.md, strings and string lists as JSON,
 * u64 in decimal, and `bytes` as a JSON string when printable ASCII (else `hex:...`), shortened past `maxBytes`.
 * Pure.
 */
import type { Message } from './frames.js';

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function bytesText(b: Uint8Array, maxBytes: number): string {
  if (b.length > maxBytes) return `<${b.length} bytes>`;
  const printable = b.every((c) => (c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x09);
  if (printable) return JSON.stringify(String.fromCharCode(...b));
  return `hex:${Array.from(b, (c) => c.toString(16).padStart(2, '0')).join('')}`;
}

export function describeMessage(msg: Message, maxBytes = 64): string {
  const fields = Object.entries(msg)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => {
      let text: string;
      if (v instanceof Uint8Array) text = bytesText(v, maxBytes);
      else if (typeof v === 'bigint' || typeof v === 'number') text = v.toString();
      else text = JSON.stringify(v);
      return `${snake(k)}=${text}`;
    });
  return `${msg.type}{${fields.join(', ')}}`;
}
