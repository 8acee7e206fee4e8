/** Locations the tests need: the repo root (found from this compiled file), shared/ beside it, the CLI launcher. */
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

export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const SHARED_DIR = process.env['YA_SHARED_DIR'] ?? path.resolve(REPO_ROOT, '..', 'shared');
export const CLI = path.join(REPO_ROOT, 'bin', 'ya-runtime-vm');
export const TINY_GVMI = path.join(SHARED_DIR, 'vectors', 'gvmi', 'tiny-lzo.gvmi');
