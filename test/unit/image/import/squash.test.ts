/** sqfstar ending before it has read the tar (a bad option here; a full disk in life) fails fast with its words. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { squashTar } from '../../../../src/image/import/squash.js';

test('an early sqfstar exit is PACK_MKSQUASHFS with its message, not a hang or EPIPE', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-squash-'));
  try {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    await assert.rejects(
      squashTar(path.join(dir, 'out.sqfs'), 'no-such-compressor', [], async (tar) => {
        for (let i = 0; i < 8; i++) {
          const entry = {
            path: `f${i}`,
            type: 'file' as const,
            mode: 0o644,
            uid: 0,
            gid: 0,
            uname: '',
            gname: '',
            mtime: 0,
            size: big.length,
            linkname: '',
            devmajor: 0,
            devminor: 0,
            xattrs: new Map<string, Buffer>(),
          };
          await tar.add(entry, big);
        }
      }),
      (err: unknown) =>
        (err as { code?: string }).code === 'PACK_MKSQUASHFS' &&
        /sqfstar failed \(exit 1\): .*no-such-compressor/i.test((err as Error).message),
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
