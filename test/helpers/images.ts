/** Optional images: the Debian minimal image made by scripts/debootstrap-image (cached), when it exists. */
import fs from 'node:fs';
import { execaSync } from 'execa';
import { REPO_ROOT } from './paths.js';

export function debianImage(): string | undefined {
  try {
    const p = execaSync('bash', ['scripts/debootstrap-image', '--print-path'], { cwd: REPO_ROOT }).stdout.trim();
    return p && fs.existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}
