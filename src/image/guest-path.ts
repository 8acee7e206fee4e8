/**
 * Paths inside the image's filesystem (an image's Volumes and WorkingDir, a volume override's keys): absolute,
 * normalized (no `.`/`..`, no `//`, no trailing `/` except for `/`), no NUL. `pack` checks them before writing an
 * image; the deployment plan checks them again for what the requestor overrides.
 */
import path from 'node:path';

export function guestPathFault(p: string): string | undefined {
  if (p.length === 0) return 'is empty';
  if (p.includes('\0')) return 'contains a NUL byte';
  if (!p.startsWith('/')) return 'is not absolute';
  if (p.split('/').some((seg) => seg === '..' || seg === '.')) return 'contains "." or ".." segments';
  if (path.posix.normalize(p) !== p || (p.length > 1 && p.endsWith('/'))) return 'is not normalized';
  if (p.length > 4096) return 'is longer than 4096 bytes';
  return undefined;
}
