/**
 * Where the guest kernel and initramfs are. scripts/build-guest writes `bzImage`, `initramfs.img` and
 * `manifest.json` (with `protocol`, the guest protocol version of its init) into `<cache>/guest/current/`; the
 * Debian package ships a prebuilt one in `/usr/lib/ya-runtime-vm/guest/` (scripts/package).
 *
 * An explicit folder (`--guest-dir DIR`, else env YA_RUNTIME_VM_GUEST_DIR) is the only one looked at. Otherwise
 * the first usable one of: the user's cache (`<cache>/guest/current`, cache = env YA_RUNTIME_VM_CACHE, or
 * /var/cache/ya-runtime-vm as root, or ~/.cache/ya-runtime-vm with XDG_CACHE_HOME honoured), the system's
 * (/var/cache/ya-runtime-vm/guest/current), the package's. Usable: all three files there and, when the caller says
 * which protocol it speaks, a manifest naming that protocol, so a stale cache never shadows a newer packaged guest.
 * When none is usable, the error lists each folder tried and why it was passed over.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { defaultCacheDir } from '../cache-dir.js';
import { PACKAGED_GUEST_DIR } from '../install-root.js';
import { GuestFilesError } from './errors.js';

export const KERNEL_FILE = 'bzImage';
export const INITRAMFS_FILE = 'initramfs.img';
export const MANIFEST_FILE = 'manifest.json';
export const SYSTEM_CACHE_DIR = '/var/cache/ya-runtime-vm';

export interface GuestFiles {
  dir: string;
  kernel: string;
  initramfs: string;
  /** manifest.json as written by scripts/build-guest (its fields belong to that script). */
  manifest: Record<string, unknown>;
  /** Every folder looked at, in order, with why it was passed over (the last one is `dir`, reason 'used'). */
  tried: GuestCandidate[];
}

export interface GuestLookupOptions {
  guestDir?: string;
  env?: NodeJS.ProcessEnv;
  isRoot?: boolean;
  home?: string;
  /** The guest protocol version the caller speaks; a searched folder whose manifest names another is skipped. */
  protocol?: number;
  /** The package's guest folder (default: PACKAGED_GUEST_DIR, beside the running CLI). */
  packagedDir?: string;
  /** The system cache (default: SYSTEM_CACHE_DIR); tests point it away from the machine's own. */
  systemCacheDir?: string;
}

export interface GuestCandidate {
  dir: string;
  /** 'used', or why this folder was passed over. */
  reason: string;
}

/** The explicit folder, if one was given (option or env). */
function explicitDir(opts: GuestLookupOptions): string | undefined {
  if (opts.guestDir) return path.resolve(opts.guestDir);
  const fromEnv = (opts.env ?? process.env)['YA_RUNTIME_VM_GUEST_DIR'];
  return fromEnv ? path.resolve(fromEnv) : undefined;
}

/** The folders to look in, in order, without touching the filesystem. */
export function guestDirs(opts: GuestLookupOptions = {}): string[] {
  const explicit = explicitDir(opts);
  if (explicit) return [explicit];
  const env = opts.env ?? process.env;
  const dirs = [
    path.join(defaultCacheDir(env, opts.isRoot, opts.home), 'guest', 'current'),
    path.join(opts.systemCacheDir ?? SYSTEM_CACHE_DIR, 'guest', 'current'),
    path.resolve(opts.packagedDir ?? PACKAGED_GUEST_DIR),
  ];
  return [...new Set(dirs)];
}

/** The first folder to look in (the one a developer's build-guest fills), without touching the filesystem. */
export function guestDir(opts: GuestLookupOptions = {}): string {
  return guestDirs(opts)[0]!;
}

type Probe =
  | { ok: true; files: Omit<GuestFiles, 'tried'> }
  | { ok: false; code: 'GUEST_NOT_BUILT' | 'GUEST_MANIFEST_BAD' | 'GUEST_PROTOCOL_MISMATCH'; reason: string };

async function probe(dir: string, protocol: number | undefined, strict: boolean): Promise<Probe> {
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
  if (missing.length === 3) return { ok: false, code: 'GUEST_NOT_BUILT', reason: 'no guest there' };
  if (missing.length > 0) return { ok: false, code: 'GUEST_NOT_BUILT', reason: `lacks ${missing.join(', ')}` };
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8'));
  } catch (err) {
    return { ok: false, code: 'GUEST_MANIFEST_BAD', reason: `cannot read ${MANIFEST_FILE}: ${(err as Error).message}` };
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest))
    return { ok: false, code: 'GUEST_MANIFEST_BAD', reason: `${MANIFEST_FILE} is not a JSON object` };
  const m = manifest as Record<string, unknown>;
  if (protocol !== undefined) {
    const p = m['protocol'];
    // An explicit folder without a stated protocol is taken (the boot handshake still checks); a searched one is not.
    if (p === undefined && strict)
      return {
        ok: false,
        code: 'GUEST_PROTOCOL_MISMATCH',
        reason: `its ${MANIFEST_FILE} names no guest protocol (built before the manifest recorded it), this runtime speaks ${protocol}`,
      };
    if (p !== undefined && p !== protocol)
      return {
        ok: false,
        code: 'GUEST_PROTOCOL_MISMATCH',
        reason: `its init speaks guest protocol ${JSON.stringify(p)}, this runtime ${protocol}`,
      };
  }
  return { ok: true, files: { dir, kernel, initramfs, manifest: m } };
}

export async function locateGuestFiles(opts: GuestLookupOptions = {}): Promise<GuestFiles> {
  const explicit = explicitDir(opts) !== undefined;
  const dirs = guestDirs(opts);
  const tried: GuestCandidate[] = [];
  let worst: Exclude<Probe, { ok: true }> | undefined;
  for (const dir of dirs) {
    const r = await probe(dir, opts.protocol, !explicit);
    if (r.ok) {
      tried.push({ dir, reason: 'used' });
      return { ...r.files, tried };
    }
    tried.push({ dir, reason: r.reason });
    // The error's code: the most telling failure (a guest of another protocol beats a folder with nothing in it).
    if (!worst || (worst.code === 'GUEST_NOT_BUILT' && r.code !== 'GUEST_NOT_BUILT')) worst = r;
  }
  const list = tried.map((t) => `${t.dir}: ${t.reason}`).join('; ');
  const fix = explicit
    ? 'rebuild it with scripts/build-guest or drop --guest-dir/YA_RUNTIME_VM_GUEST_DIR'
    : 'install the ya-runtime-vm package, or run scripts/build-guest';
  const what = worst?.code === 'GUEST_NOT_BUILT' ? 'guest kernel not built' : 'no usable guest kernel';
  throw new GuestFilesError(worst?.code ?? 'GUEST_NOT_BUILT', `${what}: ${fix} (tried ${list})`);
}
