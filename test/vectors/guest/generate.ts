/**
 * Writes frames.txt and malformed.txt from vectors.ts: `node dist/test/vectors/guest/generate.js --write` (from the
 * repository root). Without --write it only checks that the files are up to date, so running it by accident (e.g.
 * under `node --test`) changes nothing. Each malformed vector is checked to fail with exactly its reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeMessage } from '../../../src/guest/describe.js';
import { decodeFrame, encodeMessage } from '../../../src/guest/frames.js';
import { FRAME_VECTORS, MALFORMED_VECTORS, toHex } from './vectors.js';

function framesFile(): string {
  return FRAME_VECTORS.map(
    (v) => `# ${v.direction}: ${describeMessage(v.message)}\n${toHex(encodeMessage(v.message))}\n`,
  ).join('');
}

function malformedFile(): string {
  return MALFORMED_VECTORS.map((v) => {
    let got = '(accepted)';
    try {
      decodeFrame(v.bytes);
    } catch (err) {
      got = (err as Error).message;
    }
    if (got !== v.reason) throw new Error(`malformed vector "${v.reason}" gives "${got}"`);
    return `# ${v.direction}: ${v.reason}\n${toHex(v.bytes)}\n`;
  }).join('');
}

const dir = path.resolve('test/vectors/guest');
const files: [string, string][] = [
  ['frames.txt', framesFile()],
  ['malformed.txt', malformedFile()],
];
for (const [name, text] of files) {
  const file = path.join(dir, name);
  if (process.argv.includes('--write')) {
    fs.writeFileSync(file, text);
    console.error(`wrote ${file}`);
  } else if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    console.error(`${file} is out of date: run with --write`);
    process.exitCode = 1;
  }
}
