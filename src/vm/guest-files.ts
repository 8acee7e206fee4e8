/**
 * Where the guest kernel and initramfs are. scripts/build-guest writes `bzImage`, `initramfs.img` and
 * `manifest.json` into `<cache>/guest/current/`. Search order: `--guest-dir DIR`, env YA_RUNTIME_VM_GUEST_DIR,
 * else `<cache>/guest/current/` where cache = env YA_RUNTIME_VM_CACHE, or /var/cache/ya-runtime-vm as root, or
 * ~/.cache/ya-runtime-vm (XDG_CACHE_HOME honoured).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { defaultCacheDir } from '../cache-dir.js';
import { GuestFilesError } from './errors.js';

export const KERNEL_FILE = 'bzImage';
export const INITRAMFS_FILE = 'initramfs.img';
export const MANIFEST_FILE = 'manifest.json';

export interface GuestFiles {
  dir: string;
  kernel: string;
  initramfs: string;
  /** manifest.json as written by scripts/build-guest (its fields belong to that script). */
  manifest: Record<string, unknown>;
}

/** The directory to look in, without touching the filesystem. */
export function guestDir(
  opts: { guestDir?: string; env?: NodeJS.ProcessEnv; isRoot?: boolean; home?: string } = {},
): string {
  const env = opts.env ?? process.env;
  if (opts.guestDir) return path.resolve(opts.guestDir);
  const fromEnv = env['YA_RUNTIME_VM_GUEST_DIR'];
  if (fromEnv) return path.resolve(fromEnv);
  return path.join(defaultCacheDir(env, opts.isRoot, opts.home), 'guest', 'current');
}

export async function locateGuestFiles(
  opts: { guestDir?: string; env?: NodeJS.ProcessEnv; isRoot?: boolean; home?: string } = {},
): Promise<GuestFiles> {
  const dir = guestDir(opts);
  const kernel = path.join(dir, KERNEL_FILE);
  const initramfs = path.join(dir, INITRAMFS_FILE);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const missing: string[] = [];
  for (const f of [kernel, initramfs, manifestPath]) {
    try {
      const st = await fs.stat(f);
      if (!st.isFile() || st.size === 0) missing.push(path.basename(f));
    } catch {
      missing.push(path.basename(f));
    }
  }
  if (missing.length > 0) {
    throw new GuestFilesError(
      'GUEST_NOT_BUILT',
      `guest kernel not built: run scripts/build-guest (${dir} lacks ${missing.join(', ')})`,
    );
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw new GuestFilesError(
      'GUEST_MANIFEST_BAD',
      `cannot read ${manifestPath}: ${(err as Error).message}; rebuild with scripts/build-guest`,
      { cause: err },
    );
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    throw new GuestFilesError(
      'GUEST_MANIFEST_BAD',
      `${manifestPath} is not a JSON object; rebuild with scripts/build-guest`,
    );
  }
  return { dir, kernel, initramfs, manifest: manifest as Record<string, unknown> };
}
