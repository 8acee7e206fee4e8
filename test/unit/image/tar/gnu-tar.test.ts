import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { readTar } from '../../../../src/image/tar/reader.js';
import { TarWriter } from '../../../../src/image/tar/writer.js';
import { indexTarFile, openMember } from '../../../../src/image/tar/member-index.js';
import { bodyOf, entry } from './helpers.js';

const LONG_DIR = 'l'.repeat(90);
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(90)}`; // 181 bytes: ustar prefix + name
const VERY_LONG = `${'v'.repeat(200)}/${'w'.repeat(120)}`; // PAX / GNU 'L' only
const LONG_TARGET = 't'.repeat(150);

async function tmpdir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'tar-test-'));
}

/** A tree with a long name, a symlink, a hard link, a fifo and a setuid file; `extra` adds what ustar cannot hold. */
async function makeTree(root: string, extra: boolean): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>([
    ['plain', Buffer.from('plain\n')],
    ['suid', Buffer.alloc(1500, 0xab)],
    [LONG_FILE, Buffer.from('long')],
  ]);
  if (extra) files.set(VERY_LONG, Buffer.from('very long'));
  for (const [p, data] of files) {
    await fsp.mkdir(path.dirname(path.join(root, p)), { recursive: true });
    await fsp.writeFile(path.join(root, p), data);
  }
  await fsp.chmod(path.join(root, 'suid'), 0o4755);
  await fsp.symlink('plain', path.join(root, 'sym'));
  if (extra) await fsp.symlink(LONG_TARGET, path.join(root, 'longsym'));
  await fsp.link(path.join(root, 'plain'), path.join(root, 'hard'));
  await execa('mkfifo', ['-m', '0640', path.join(root, 'fifo')]);
  return files;
}

for (const format of ['pax', 'gnu', 'ustar'] as const) {
  test(`reads what GNU tar --format=${format} writes`, async () => {
    const dir = await tmpdir();
    const root = path.join(dir, 'root');
    await fsp.mkdir(root);
    const files = await makeTree(root, format !== 'ustar');
    const archive = path.join(dir, 'a.tar');
    await execa('tar', [`--format=${format}`, '-cf', archive, '-C', root, '.']);
    const seen = new Map<string, { type: string; mode: number; size: number; linkname: string; body: Buffer }>();
    for await (const m of readTar(fs.createReadStream(archive, { highWaterMark: 1000 }), format)) {
      seen.set(m.entry.path.replace(/^\.\//, ''), { ...m.entry, body: await bodyOf(m) });
    }
    const hardPath = ['plain', 'hard'].find((p) => seen.get(p)?.type === 'hardlink');
    if (hardPath === 'plain') files.set('hard', files.get('plain')!);
    for (const [p, data] of files) {
      if (p === hardPath) continue;
      assert.equal(seen.get(p)?.type, 'file', p);
      assert.deepEqual(seen.get(p)?.body, data, p);
      assert.equal(seen.get(p)?.size, data.length, p);
    }
    assert.equal(seen.get('suid')?.mode, 0o4755);
    assert.equal(seen.get(LONG_DIR)?.type, 'directory');
    assert.deepEqual([seen.get('sym')?.type, seen.get('sym')?.linkname], ['symlink', 'plain']);
    // GNU tar writes the first of two links as the file and the second as a hard link (order is readdir's).
    const links = ['plain', 'hard'].map((p) => seen.get(p));
    const hard = links.find((l) => l?.type === 'hardlink');
    assert.ok(hard, 'one hard link');
    assert.equal(hard.size, 0);
    assert.match(hard.linkname, /^\.\/(plain|hard)$/);
    assert.deepEqual([seen.get('fifo')?.type, seen.get('fifo')?.mode], ['fifo', 0o640]);
    if (format !== 'ustar') {
      assert.deepEqual([seen.get('longsym')?.type, seen.get('longsym')?.linkname], ['symlink', LONG_TARGET]);
    }
    await fsp.rm(dir, { recursive: true });
  });
}

test('GNU tar lists and extracts what TarWriter writes', async () => {
  const dir = await tmpdir();
  const archive = path.join(dir, 'w.tar');
  const out = fs.createWriteStream(archive);
  const w = new TarWriter(out);
  const veryLong = `${VERY_LONG}x`;
  await w.add(entry({ path: 'd', type: 'directory', mode: 0o755 }));
  await w.add(entry({ path: 'd/suid', mode: 0o4755, size: 3 }), Buffer.from('abc'));
  await w.add(entry({ path: 'd/sticky', type: 'directory', mode: 0o1777 }));
  await w.add(entry({ path: `d/${LONG_FILE}`, size: 4 }), Buffer.from('long'));
  await w.add(entry({ path: veryLong, size: 600 }), Buffer.alloc(600, 0x5a));
  await w.add(entry({ path: 'd/hard', type: 'hardlink', linkname: 'd/suid' }));
  await w.add(entry({ path: 'd/sym', type: 'symlink', mode: 0o777, linkname: LONG_TARGET }));
  await w.add(entry({ path: 'd/fifo', type: 'fifo', mode: 0o600 }));
  await w.add(entry({ path: 'd/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }));
  await w.finish();
  const { stdout } = await execa('tar', ['--numeric-owner', '-tvf', archive]);
  const lines = stdout.split('\n');
  const line = (name: string) => lines.find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} `)) ?? '';
  assert.match(line('d/'), /^drwxr-xr-x 0\/0 /);
  assert.match(line('d/suid'), /^-rwsr-xr-x 0\/0 +3 /);
  assert.match(line('d/sticky/'), /^drwxrwxrwt /);
  assert.match(line(`d/${LONG_FILE}`), /^-rw-r--r-- /);
  assert.match(line(veryLong), /^-rw-r--r-- 0\/0 +600 /);
  assert.match(line('d/hard'), /^hrwxr-xr-x|^hrw-r--r-- .* d\/hard link to d\/suid$/);
  assert.ok(line('d/sym').endsWith(`d/sym -> ${LONG_TARGET}`));
  assert.match(line('d/sym'), /^lrwxrwxrwx /);
  assert.match(line('d/fifo'), /^prw------- /);
  assert.match(line('d/null'), /^crw-rw-rw- 0\/0 +1,3 /);
  const x = path.join(dir, 'x');
  await fsp.mkdir(x);
  await execa('tar', ['-xf', archive, '-C', x, '--exclude', 'd/null']);
  assert.equal(await fsp.readFile(path.join(x, 'd/suid'), 'utf8'), 'abc');
  assert.equal(await fsp.readFile(path.join(x, 'd', LONG_FILE), 'utf8'), 'long');
  assert.deepEqual(await fsp.readFile(path.join(x, veryLong)), Buffer.alloc(600, 0x5a));
  assert.equal((await fsp.stat(path.join(x, 'd/hard'))).ino, (await fsp.stat(path.join(x, 'd/suid'))).ino);
  assert.equal(await fsp.readlink(path.join(x, 'd/sym')), LONG_TARGET);
  assert.ok((await fsp.stat(path.join(x, 'd/fifo'))).isFIFO());
  await fsp.rm(dir, { recursive: true });
});

test('member index of a GNU tar archive: offsets and exact bytes, later duplicates win', async () => {
  for (const format of ['gnu', 'pax']) {
    const dir = await tmpdir();
    const root = path.join(dir, 'root');
    await fsp.mkdir(root);
    const files = await makeTree(root, true);
    const archive = path.join(dir, 'a.tar');
    await execa('tar', [`--format=${format}`, '-cf', archive, '-C', root, '.']);
    await fsp.writeFile(path.join(root, 'plain2'), 'second');
    await execa('tar', [`--format=${format}`, '-rf', archive, '-C', root, '--transform=s/plain2/plain/', './plain2']);
    const index = await indexTarFile(archive, format);
    files.set('plain', Buffer.from('second'));
    const raw = await fsp.readFile(archive);
    for (const [p, data] of files) {
      const m = index.get(p);
      assert.ok(m, `${format}: ${p}`);
      assert.deepEqual(raw.subarray(m.offset, m.offset + m.entry.size), data, p);
      const parts: Buffer[] = [];
      for await (const c of openMember(archive, m)) parts.push(c as Buffer);
      assert.deepEqual(Buffer.concat(parts), data, p);
    }
    assert.equal(index.get('sym')?.entry.type, 'symlink');
    const fifo = index.get('fifo');
    assert.ok(fifo);
    let n = 0;
    for await (const _c of openMember(archive, fifo)) n++;
    assert.equal(n, 0);
    await fsp.rm(dir, { recursive: true });
  }
});

test('a GNU sparse member is unsupported', async () => {
  const dir = await tmpdir();
  const f = path.join(dir, 'sparse');
  const fh = await fsp.open(f, 'w');
  await fh.write(Buffer.from('data'), 0, 4, 4 * 1024 * 1024);
  await fh.close();
  const archive = path.join(dir, 's.tar');
  await execa('tar', ['--format=gnu', '--sparse', '-cf', archive, '-C', dir, 'sparse']);
  await assert.rejects(
    (async () => {
      for await (const m of readTar(fs.createReadStream(archive), 'layer 1')) await bodyOf(m);
    })(),
    {
      code: 'TAR_UNSUPPORTED_TYPE',
      message: 'layer 1: tar header at byte 0: unsupported tar entry type "S" for sparse',
    },
  );
  await assert.rejects(indexTarFile(archive, 'layer 1'), { code: 'TAR_UNSUPPORTED_TYPE' });
  await fsp.rm(dir, { recursive: true });
});
