/**
 * virtiofsd: finding it, telling its two kinds apart, and their command lines.
 *
 *  - `c`: QEMU's own C virtiofsd (Debian 12's qemu-system-common, /usr/lib/qemu/virtiofsd). Options
 *    `--socket-path=P`, `-o source=DIR`, `-o cache=auto`, `-o sandbox=namespace|chroot`. Needs root.
 *    `--version` prints "virtiofsd version 7.2.x ..."; `--help` lists `-o source=PATH`.
 *  - `rust`: the Rust virtiofsd (Debian 13, Ubuntu 24.04: /usr/libexec/virtiofsd). Options `--socket-path P`,
 *    `--shared-dir DIR`, `--cache auto`, `--sandbox namespace|chroot|none`. `--help` lists `--shared-dir`.
 *
 * Search order: the explicit path (`--virtiofsd PATH`), `virtiofsd` in PATH, /usr/libexec/virtiofsd,
 * /usr/lib/qemu/virtiofsd. The kind is read from `--help` (and `--version`), never guessed from the path.
 * With a cache folder, what a binary is (kind, version) is cached per host (probe-cache.ts), keyed by the runtime
 * version and the binary's stamp: two spawns fewer on every start, again after the binary changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VirtiofsdError } from './errors.js';
import { fileStamp, probeCacheFile, readProbeCache, writeProbeCache } from './probe-cache.js';
import { VERSION } from '../version.js';

export type VirtiofsdKind = 'c' | 'rust';
export type VirtiofsdSandbox = 'namespace' | 'chroot' | 'none';

export interface VirtiofsdBinary {
  path: string;
  kind: VirtiofsdKind;
  /** First line of `--version` output. */
  version: string;
}

export interface VirtiofsdOptions {
  socketPath: string;
  sharedDir: string;
  sandbox: VirtiofsdSandbox;
  /** Default `auto`. `none` forbids mmap: binaries on the share could not run. */
  cache?: 'auto' | 'always' | 'none';
  /** Tell the guest about mount points inside the shared dir (separate inode spaces). */
  announceSubmounts?: boolean;
}

export const VIRTIOFSD_CANDIDATES: readonly string[] = ['/usr/libexec/virtiofsd', '/usr/lib/qemu/virtiofsd'];

/** Reads the kind from the help and version texts; undefined when neither pattern matches. */
export function detectVirtiofsdKind(helpText: string, versionText = ''): VirtiofsdKind | undefined {
  if (/--shared-dir\b/.test(helpText)) return 'rust';
  if (/-o\s+source=/.test(helpText)) return 'c';
  // Fall back on the version line: the C one says "virtiofsd version 7.2.x", the Rust one "virtiofsd 1.x.y".
  if (/virtiofsd version \d/.test(versionText)) return 'c';
  if (/^virtiofsd v?\d+\.\d+/m.test(versionText)) return 'rust';
  return undefined;
}

/**
 * The sandbox to use: `namespace` (mount, pid and net namespaces + pivot_root into the shared dir) for both kinds,
 * as root and not (the Rust one then uses a user namespace; the C one needs root anyway). `chroot` also works as
 * root (for containers without namespace rights); the C one has no `none`.
 */
export function defaultSandbox(_kind: VirtiofsdKind, _isRoot: boolean): VirtiofsdSandbox {
  return 'namespace';
}

export function virtiofsdArgs(kind: VirtiofsdKind, o: VirtiofsdOptions): string[] {
  const cache = o.cache ?? 'auto';
  if (kind === 'c') {
    if (o.sandbox === 'none')
      throw new VirtiofsdError(
        'VIRTIOFSD_BAD_OPTION',
        "QEMU's C virtiofsd has no sandbox=none (use namespace or chroot)",
      );
    // The C one parses `-o a=b` pairs; a comma inside a value would split it.
    if (o.sharedDir.includes(','))
      throw new VirtiofsdError(
        'VIRTIOFSD_BAD_OPTION',
        `shared directory path contains a comma, which the C virtiofsd cannot take: ${o.sharedDir}`,
      );
    const args = [
      `--socket-path=${o.socketPath}`,
      '-o',
      `source=${o.sharedDir}`,
      '-o',
      `cache=${cache}`,
      '-o',
      `sandbox=${o.sandbox}`,
    ];
    if (o.announceSubmounts) args.push('-o', 'announce_submounts');
    return args;
  }
  const args = ['--socket-path', o.socketPath, '--shared-dir', o.sharedDir, '--cache', cache, '--sandbox', o.sandbox];
  if (o.announceSubmounts) args.push('--announce-submounts');
  return args;
}

function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Candidate paths in search order (existence not checked). */
export function virtiofsdSearchPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [explicit];
  const inPath = (env['PATH'] ?? '')
    .split(':')
    .filter(Boolean)
    .map((d) => path.join(d, 'virtiofsd'));
  return [...inPath, ...VIRTIOFSD_CANDIDATES];
}

/** Runs `--help` and `--version` (bounded) and returns what they printed, stdout and stderr together. */
async function ask(file: string, flag: string): Promise<string> {
  const { execa } = await import('execa'); // loaded only when the binary is asked (the answer is cached)
  const r = await execa(file, [flag], { reject: false, timeout: 5000, all: true, stdin: 'ignore' });
  return r.all ?? '';
}

export async function identifyVirtiofsd(file: string): Promise<VirtiofsdBinary> {
  const [help, version] = await Promise.all([ask(file, '--help'), ask(file, '--version')]);
  const kind = detectVirtiofsdKind(help, version);
  if (!kind) {
    const said =
      `${help}\n${version}`
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l !== '') ?? '';
    // QEMU's C virtiofsd cannot run unprivileged: it fails before printing anything ("setgroups() failed ...").
    const why = /setgroups|not permitted/i.test(said)
      ? " (it needs root: QEMU's C virtiofsd cannot run unprivileged)"
      : '';
    throw new VirtiofsdError(
      'VIRTIOFSD_UNKNOWN',
      `${file} is not a usable virtiofsd${why}: its --help lists neither -o source= nor --shared-dir${said ? `, it said: ${said}` : ''}`,
    );
  }
  const line = version.split('\n').find((l) => l.trim() !== '') ?? '';
  return { path: file, kind, version: line.trim() };
}

function isVirtiofsdBinary(v: unknown): v is VirtiofsdBinary {
  if (v === null || typeof v !== 'object') return false;
  const b = v as Partial<VirtiofsdBinary>;
  return typeof b.path === 'string' && (b.kind === 'c' || b.kind === 'rust') && typeof b.version === 'string';
}

/** identifyVirtiofsd through the probe cache of `cacheDir`; a cache that cannot be written is only logged away. */
async function identifyCached(
  file: string,
  cacheDir: string,
  runtimeVersion: string,
  now: number,
): Promise<VirtiofsdBinary> {
  const key = { runtime: runtimeVersion, virtiofsd: `${path.resolve(file)}@${await fileStamp(file)}` };
  const cacheFile = probeCacheFile(cacheDir, 'virtiofsd', key);
  const cached = await readProbeCache(cacheFile, key, { now, valid: isVirtiofsdBinary });
  if (cached && cached.path === file) return cached;
  const found = await identifyVirtiofsd(file);
  await writeProbeCache(cacheFile, key, found, now).catch(() => undefined);
  return found;
}

export async function findVirtiofsd(
  opts: {
    explicitPath?: string;
    env?: NodeJS.ProcessEnv;
    /** Cache what the binary is here (probe-cache.ts); omit to ask it every time. */
    cacheDir?: string;
    /** The runtime version in the cache key (default: this runtime's); tests change it. */
    runtimeVersion?: string;
    now?: () => number;
  } = {},
): Promise<VirtiofsdBinary> {
  const candidates = virtiofsdSearchPath(opts.explicitPath, opts.env);
  for (const c of candidates) {
    if (!executable(c)) continue;
    return opts.cacheDir
      ? identifyCached(c, opts.cacheDir, opts.runtimeVersion ?? VERSION, (opts.now ?? Date.now)())
      : identifyVirtiofsd(c);
  }
  if (opts.explicitPath) {
    throw new VirtiofsdError(
      'VIRTIOFSD_NOT_FOUND',
      `virtiofsd not found at ${opts.explicitPath} (--virtiofsd): no executable file there`,
    );
  }
  throw new VirtiofsdError(
    'VIRTIOFSD_NOT_FOUND',
    'virtiofsd not found (looked in PATH, /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd): install the "virtiofsd" package (Debian 13, Ubuntu 24.04) or "qemu-system-common" (Debian 12), or pass --virtiofsd PATH',
  );
}
