/**
 * Disk images of a deployment: a writable ext4 disk (the overlay's upper layer, `storage` volumes), created as a sparse
 * raw file with qemu-img and formatted on the host with mkfs.ext4, so the guest only mounts it.
 * Short-lived tools, so plain bounded execa calls (not the supervisor).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
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
  const create = ['create', '-q', '-f', 'raw'];
  if (opts.preallocate) create.push('-o', 'preallocation=falloc');
  create.push(file, String(bytes));
  await tool('qemu-img', create, file, timeout, 'qemu-utils');

  // -q quiet; -F even though it is a regular file, not a block device; root_owner=0:0 so the root of the disk
  // belongs to root in the guest whoever ran mkfs; -m 0: no blocks reserved for root (it is a data disk).
  const mkfs = ['-q', '-F', '-m', '0', '-E', 'root_owner=0:0'];
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

async function tool(bin: string, args: string[], file: string, timeout: number, pkg: string): Promise<void> {
  const r = await execa(bin, args, { reject: false, timeout, all: true, stdin: 'ignore', maxBuffer: 1024 * 1024 });
  if (!r.failed) return;
  const e = r.cause as NodeJS.ErrnoException | undefined;
  if (e?.code === 'ENOENT') {
    throw new DiskError('DISK_TOOL_MISSING', `cannot create ${file}: ${bin} not found (install ${pkg})`, {
      cause: r.cause,
    });
  }
  const said = (r.all ?? '').trim().split('\n').pop() ?? '';
  const how = r.timedOut
    ? `timed out after ${timeout} ms`
    : r.signal
      ? `was killed by ${r.signal}`
      : `exited with code ${r.exitCode}`;
  throw new DiskError('DISK_CREATE_FAILED', `cannot create ${file}: ${bin} ${how}${said ? `: ${said}` : ''}`, {
    cause: r.cause,
  });
}
