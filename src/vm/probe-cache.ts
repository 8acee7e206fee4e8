/**
 * Per-host cache of probe results (the KVM boot probe, which virtiofsd this is), so that `start` does not re-run
 * them on every activity (docs/operator-guide.md, "Probe cache").
 *
 * Validity is cheap: an entry is keyed by the runtime version and the *stamps* of the files the result depends on
 * (QEMU, the guest kernel, the virtiofsd binary): device, inode, size and mtime from one stat each, never a hash
 * of the contents. Replacing any of them (a package upgrade, a rebuilt guest) changes its stamp, so the entry no
 * longer matches and the probe runs again. The file name holds a hash of the key, so hosts with several guests or
 * QEMUs keep one entry each. Entries are written atomically (a temporary file in the same folder, then rename), so
 * a reader never sees a partial entry, even with many activities starting at once.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** What an entry depends on: e.g. `{ runtime: '0.1.0', qemu: <stamp>, kernel: <stamp> }`. */
export type ProbeKey = Record<string, string>;

interface Entry<T> {
  key: ProbeKey;
  at: number;
  value: T;
}

/** `dev:ino:size:mtimeNs` of a file (symlinks followed), or `missing` when it cannot be stat'ed. */
export async function fileStamp(p: string): Promise<string> {
  try {
    const st = await fs.stat(p, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return 'missing';
  }
}

function sameKey(a: ProbeKey, b: unknown): boolean {
  if (b === null || typeof b !== 'object') return false;
  const bk = b as Record<string, unknown>;
  const ka = Object.keys(a);
  return ka.length === Object.keys(bk).length && ka.every((k) => bk[k] === a[k]);
}

/** The cache file of `kind` for `key` in `cacheDir`. */
export function probeCacheFile(cacheDir: string, kind: string, key: ProbeKey): string {
  const canon = JSON.stringify(
    Object.keys(key)
      .sort()
      .map((k) => [k, key[k]]),
  );
  const h = crypto.createHash('sha256').update(canon).digest('hex').slice(0, 16);
  return path.join(cacheDir, 'probes', `${kind}-${h}.json`);
}

/**
 * The cached value for `key`, or undefined when there is none, it is for another key, older than `ttlMs` (when
 * given), from the future, or not valid (`valid` rejects its shape).
 */
export async function readProbeCache<T>(
  file: string,
  key: ProbeKey,
  opts: { now: number; ttlMs?: number; valid: (v: unknown) => v is T },
): Promise<T | undefined> {
  let e: Partial<Entry<unknown>>;
  try {
    e = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<Entry<unknown>>;
  } catch {
    return undefined;
  }
  if (!sameKey(key, e.key) || typeof e.at !== 'number' || e.at > opts.now) return undefined;
  if (opts.ttlMs !== undefined && opts.now - e.at > opts.ttlMs) return undefined;
  return opts.valid(e.value) ? e.value : undefined;
}

let tmpSeq = 0;

/** Writes the entry atomically: a temporary file beside it (unique per process and call), then rename. */
export async function writeProbeCache<T>(file: string, key: ProbeKey, value: T, now: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  const entry: Entry<T> = { key, at: now, value };
  try {
    await fs.writeFile(tmp, JSON.stringify(entry), { mode: 0o644 });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
