import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Readable } from 'node:stream';
import { readTar } from '../../../../src/image/tar/reader.js';
import { TarWriter } from '../../../../src/image/tar/writer.js';
import { entry } from './helpers.js';

const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service=ep, v2
const BIN = Buffer.from([0x00, 0x80, 0xff, 0x0a, 0x3d, 0x20]);

test('sqfstar takes a TarWriter archive with owners, modes and binary xattrs', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tar-sqfs-'));
  const tarFile = path.join(dir, 'in.tar');
  const w = new TarWriter(fs.createWriteStream(tarFile));
  // sqfstar maps uname/gname through the host's passwd/group when they resolve (like GNU tar as root): no names
  // here, so the numeric ids are used; 'd/named' shows the lookup.
  const anon = { uname: '', gname: '' };
  await w.add(entry({ path: 'd', type: 'directory', mode: 0o755, uid: 1000, gid: 1000, ...anon }));
  await w.add(entry({ path: 'd/named', uid: 1234, gid: 1234, uname: 'root', gname: 'root' }));
  await w.add(entry({ path: 'd/suid', mode: 0o4755, size: 3, uid: 0, gid: 50, ...anon }), Buffer.from('abc'));
  const xattrs = new Map([
    ['security.capability', CAP],
    ['user.bin', BIN],
    ['user.text', Buffer.from('hello ä')],
  ]);
  await w.add(
    entry({ path: 'd/cap', mode: 0o755, size: 2, uid: 3_000_000, gid: 7, xattrs, ...anon }),
    Buffer.from('hi'),
  );
  await w.add(entry({ path: 'd/tmp', type: 'directory', mode: 0o1777 }));
  await w.finish();
  const sqfs = path.join(dir, 'out.sqfs');
  await execa('sqfstar', ['-no-progress', '-quiet', sqfs], { inputFile: tarFile });
  const { stdout } = await execa('unsquashfs', ['-lln', sqfs]);
  const line = (p: string) => stdout.split('\n').find((l) => l.endsWith(`squashfs-root/${p}`)) ?? '';
  assert.match(line('d'), /^drwxr-xr-x 1000\/1000 /);
  assert.match(line('d/named'), /^-rw-r--r-- 0\/0 /);
  assert.match(line('d/suid'), /^-rwsr-xr-x 0\/50 +3 /);
  assert.match(line('d/cap'), /^-rwxr-xr-x 3000000\/7 +2 /);
  assert.match(line('d/tmp'), /^drwxrwxrwt /);
  // No installed tool prints xattrs (no getfattr); as root, extract them and have GNU tar archive them again.
  if (process.getuid?.() === 0) {
    const x = path.join(dir, 'x');
    await execa('unsquashfs', ['-no-progress', '-xattrs', '-d', x, sqfs]);
    const { stdout: tarred } = await execa(
      'tar',
      ['--xattrs', '--xattrs-include=*', '--format=pax', '-cf', '-', '-C', x, 'd/cap'],
      { encoding: 'buffer' },
    );
    const got = new Map<string, Buffer>();
    for await (const m of readTar(Readable.from([Buffer.from(tarred)]), 'tar of unsquashfs output')) {
      if (m.entry.path === 'd/cap') for (const [k, v] of m.entry.xattrs) got.set(k, v);
    }
    assert.deepEqual(got.get('security.capability'), CAP);
    assert.deepEqual(got.get('user.bin'), BIN);
    assert.deepEqual(got.get('user.text'), Buffer.from('hello ä'));
  }
  await fsp.rm(dir, { recursive: true });
});
