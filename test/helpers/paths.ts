/** Locations the tests need: the repo root (found from this compiled file), the test vectors, the CLI launcher. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
  return dir;
}

/** The checkout: the folder holding package.json above this file (test/helpers/ and dist/test/helpers/ alike). */
export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const CLI = path.join(REPO_ROOT, 'bin', 'ya-runtime-vm');
/** Test vectors kept as data in the repository (test/vectors/README.md says where each came from). */
export const VECTORS_DIR = path.join(REPO_ROOT, 'test', 'vectors');
/** A .gvmi made by an independent encoder, not by our writer (docs/gvmi-format.md, section 7). */
export const TINY_GVMI = path.join(VECTORS_DIR, 'gvmi', 'tiny-lzo.gvmi');
/** Service protocol frames made by an independent protobuf encoder (docs/yagna-contract.md, section 3.7). */
export const RUNTIME_API_FRAMES = path.join(VECTORS_DIR, 'runtime-api', 'frames.txt');
