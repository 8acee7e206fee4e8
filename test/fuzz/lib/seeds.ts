/** Seed inputs of the fuzz targets: the golden vectors of test/vectors/ (read from the repository, never made here). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const VECTORS = path.join(REPO, 'test/vectors');

/** Every hex line of a vector file ('#' lines are comments). */
export function hexLines(rel: string): Uint8Array[] {
  return fs
    .readFileSync(path.join(VECTORS, rel), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => Uint8Array.from(Buffer.from(l, 'hex')));
}

export const guestFrames = (): Uint8Array[] => [...hexLines('guest/frames.txt'), ...hexLines('guest/malformed.txt')];
export const runtimeApiFrames = (): Uint8Array[] => hexLines('runtime-api/frames.txt');

/** The .gvmi trailer of the independent vector: the 8 length digits and the CRC + JSON block before them. */
export function gvmiTrailer(): { field: Uint8Array; block: Uint8Array; size: number; json: unknown } {
  const file = fs.readFileSync(path.join(VECTORS, 'gvmi/tiny-lzo.gvmi'));
  const field = file.subarray(file.length - 8);
  const n = Number(field.toString('latin1'));
  const block = file.subarray(file.length - 8 - n - 4, file.length - 8);
  return { field, block, size: file.length, json: JSON.parse(block.subarray(4).toString('utf8')) };
}
