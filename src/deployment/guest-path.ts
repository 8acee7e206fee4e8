/** Guest paths of volumes: absolute, normalized (no `.`/`..`, no `//`, no trailing `/` except for `/`), no NUL. */
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

/** Sort key so parents are mounted before children. */
export function byDepth(a: string, b: string): number {
  const da = a === '/' ? 0 : a.split('/').length;
  const db = b === '/' ? 0 : b.split('/').length;
  return da - db || a.localeCompare(b);
}
