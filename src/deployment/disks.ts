/**
 * Disk images of a deployment: a writable ext4 disk (the overlay's upper layer, `storage` volumes), created as a sparse
 * raw file and formatted on the host with mkfs.ext4, so the guest only mounts it.
 * The sparse file is made in this process (open + ftruncate: what `truncate -s` does); qemu-img is spawned only where
 * it earns it, for a preallocated image. `deploy` is on every activity's start path (docs/benchmarks.md, Start path).
 * Short-lived tools, so plain bounded child_process calls (not the supervisor, and not execa: loading it cost
 * `deploy` more than the tools it ran).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DiskError } from './errors.js';

export interface Ext4DiskOptions {
  /** Filesystem label (at most 16 bytes). */
  label?: string;
  /** Allocate the blocks now (`preallocation=falloc`) instead of a sparse file. */
  preallocate?: boolean;
  /** Reserve this many bytes now (fallocate, keeping the file size): a `storage` volume's `preallocate`. */
  preallocateBytes?: number;
  /** Bound on each tool (default 120 s). */
  timeoutMs?: number;
}

const MIN_EXT4_BYTES = 4 * 1024 * 1024;

export async function createExt4Disk(file: string, bytes: number, opts: Ext4DiskOptions = {}): Promise<void> {
  if (!Number.isSafeInteger(bytes) || bytes < MIN_EXT4_BYTES) {
    throw new DiskError(
      'DISK_BAD_SIZE',
      `cannot create ${file}: size ${bytes} bytes is below the ext4 minimum of ${MIN_EXT4_BYTES}`,
      { reply: 'bad-request' },
    );
  }
  const timeout = opts.timeoutMs ?? 120_000;
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
  } catch (err) {
    throw new DiskError('DISK_CREATE_FAILED', `cannot create ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (opts.preallocate)
    await tool(
      'qemu-img',
      ['create', '-q', '-f', 'raw', '-o', 'preallocation=falloc', file, String(bytes)],
      file,
      timeout,
      'qemu-utils',
    );
  else await sparseFile(file, bytes);

  // -q quiet; -F even though it is a regular file, not a block device; root_owner=0:0 so the root of the disk
  // belongs to root in the guest whoever ran mkfs; -m 0: no blocks reserved for root (it is a data disk);
  // lazy_journal_init=1: do not write zeros over the journal, whose blocks in a file made just now (sparse, or
  // fallocated) read as zeros already: that was 32 MiB written per GiB-sized disk on every deploy.
  const mkfs = ['-q', '-F', '-m', '0', '-E', 'root_owner=0:0,lazy_journal_init=1'];
  if (opts.label) mkfs.push('-L', opts.label);
  mkfs.push(file);
  try {
    await tool('mkfs.ext4', mkfs, file, timeout, 'e2fsprogs');
    if (opts.preallocateBytes)
      await tool('fallocate', ['-n', '-l', String(opts.preallocateBytes), file], file, timeout, 'util-linux');
  } catch (err) {
    await fs.rm(file, { force: true });
    throw err;
  }
}

/** A sparse file of `bytes` (an existing one is cut to 0 first, as `qemu-img create` did). */
async function sparseFile(file: string, bytes: number): Promise<void> {
  try {
    const fh = await fs.open(file, 'w');
    try {
      await fh.truncate(bytes);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new DiskError('DISK_CREATE_FAILED', `cannot create ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * PATH for the disk tools: mkfs.ext4 lives in /usr/sbin (/sbin), which a plain user's PATH (a provider's yagna run
 * as its own user) usually lacks.
 */
export function toolPath(path: string | undefined): string {
  const dirs = (path ?? '').split(':').filter(Boolean);
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin']) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(':');
}

interface ToolResult {
  /** The spawn error (ENOENT: not installed). */
  error?: NodeJS.ErrnoException;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** stdout and stderr interleaved, the last 64 KiB. */
  output: string;
}

function runTool(bin: string, args: string[], timeout: number): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: toolPath(process.env['PATH']) },
    });
    let output = '';
    let timedOut = false;
    const keep = (c: Buffer): void => void (output = (output + c.toString()).slice(-65536));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    let error: NodeJS.ErrnoException | undefined;
    child.on('error', (err) => (error = err));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ...(error ? { error } : {}), code, signal, timedOut, output });
    });
  });
}

async function tool(bin: string, args: string[], file: string, timeout: number, pkg: string): Promise<void> {
  const r = await runTool(bin, args, timeout);
  if (!r.error && !r.timedOut && r.code === 0) return;
  if (r.error?.code === 'ENOENT') {
    throw new DiskError('DISK_TOOL_MISSING', `cannot create ${file}: ${bin} not found (install ${pkg})`, {
      cause: r.error,
    });
  }
  const said = r.output.trim().split('\n').pop() ?? '';
  const how = r.timedOut
    ? `timed out after ${timeout} ms`
    : r.error
      ? `could not be run: ${r.error.message}`
      : r.signal
        ? `was killed by ${r.signal}`
        : `exited with code ${r.code}`;
  throw new DiskError('DISK_CREATE_FAILED', `cannot create ${file}: ${bin} ${how}${said ? `: ${said}` : ''}`, {
    ...(r.error ? { cause: r.error } : {}),
  });
}
