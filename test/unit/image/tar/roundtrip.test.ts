import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { readTar } from '../../../../src/image/tar/reader.js';
import { TarWriter } from '../../../../src/image/tar/writer.js';
import { encodeHeader } from '../../../../src/image/tar/header.js';
import { entry, readAll, writeArchive } from './helpers.js';

const CAP = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x80, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x0a, 0x3d]);
const longPath = `${'a'.repeat(120)}/${'b'.repeat(90)}`; // > 100: fits prefix + name
const veryLong = `${'c/'.repeat(80)}${'d'.repeat(150)}`; // > 255: needs PAX
const longTarget = `../${'t'.repeat(150)}`;

const items = [
  { entry: entry({ path: 'dir', type: 'directory', mode: 0o1777 }) },
  { entry: entry({ path: 'dir/suid', mode: 0o4755, size: 5 }), body: Buffer.from('hello') },
  { entry: entry({ path: 'dir/sgid', mode: 0o2711, size: 0 }) },
  {
    entry: entry({
      path: 'dir/cap',
      mode: 0o755,
      size: 3,
      xattrs: new Map([
        ['security.capability', CAP],
        ['user.comment', Buffer.from('text ä')],
      ]),
    }),
    body: Buffer.from([0, 1, 2]),
  },
  { entry: entry({ path: 'dir/hard', type: 'hardlink', linkname: 'dir/suid' }) },
  { entry: entry({ path: 'dir/sym', type: 'symlink', mode: 0o777, linkname: longTarget }) },
  { entry: entry({ path: 'dir/fifo', type: 'fifo', mode: 0o600 }) },
  { entry: entry({ path: 'dir/tty', type: 'char', devmajor: 4, devminor: 64 }) },
  { entry: entry({ path: 'dir/sda', type: 'block', devmajor: 8, devminor: 1, mode: 0o660 }) },
  { entry: entry({ path: longPath, size: 1000 }), body: Buffer.alloc(1000, 7) },
  { entry: entry({ path: veryLong, size: 513 }), body: Buffer.alloc(513, 9) },
  {
    entry: entry({ path: 'bigid', uid: 3_000_000, gid: 2_097_152, uname: 'u'.repeat(40), gname: 'g', mtime: 2 ** 34 }),
  },
];

test('writer -> reader round trip for every type, long names, modes, big ids and binary xattrs', async () => {
  const archive = await writeArchive(items);
  assert.equal(archive.length % 512, 0);
  assert.ok(archive.subarray(-1024).every((b) => b === 0));
  for (const chunk of [1, 511, 700, 1 << 20]) {
    const got = await readAll(archive, 'test', chunk);
    assert.equal(got.length, items.length);
    got.forEach((g, i) => {
      const want = items[i]!;
      assert.deepEqual(g.entry, want.entry, `entry ${i}`);
      assert.deepEqual(g.body, want.body ?? Buffer.alloc(0));
    });
  }
});

test('members whose bodies are not read are skipped', async () => {
  const archive = await writeArchive(items);
  const paths: string[] = [];
  for await (const m of readTar(Readable.from([archive]), 'test')) paths.push(m.entry.path);
  assert.deepEqual(
    paths,
    items.map((i) => i.entry.path),
  );
  // A partly read body is skipped too.
  const seen: string[] = [];
  for await (const m of readTar(Readable.from([archive]), 'test')) {
    seen.push(m.entry.path);
    for await (const _c of m.body) break;
  }
  assert.deepEqual(seen, paths);
});

test('body size must match entry.size', async () => {
  const w = new TarWriter(new PassThrough().resume());
  await assert.rejects(w.add(entry({ path: 'x', size: 4 }), Buffer.from('abc')), { code: 'TAR_BAD_FIELD' });
  async function* long() {
    yield Buffer.alloc(3);
    yield Buffer.alloc(3);
  }
  await assert.rejects(w.add(entry({ path: 'x', size: 4 }), long()), { code: 'TAR_BAD_FIELD' });
});

test('errors: checksum, truncated body, unsupported type', async () => {
  const archive = await writeArchive([{ entry: entry({ path: 'usr/bin/ls', size: 5000 }), body: Buffer.alloc(5000) }]);
  const flipped = Buffer.from(archive);
  flipped[3]! ^= 0x01;
  await assert.rejects(readAll(flipped, 'layer 2'), {
    code: 'TAR_CHECKSUM',
    message: 'layer 2: tar header at byte 0: checksum mismatch',
  });
  await assert.rejects(readAll(archive.subarray(0, 512 + 904), 'layer 2'), {
    code: 'TAR_TRUNCATED',
    message: 'layer 2: truncated inside usr/bin/ls at byte 1416 (needed 4096 more bytes)',
  });
  await assert.rejects(readAll(archive.subarray(0, 300), 'layer 2'), { code: 'TAR_TRUNCATED' });
  const sparse = encodeHeader({
    name: Buffer.from('sparse'),
    prefix: Buffer.alloc(0),
    ...{ mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: 'S', linkname: '', uname: '', gname: '' },
    ...{ devmajor: 0, devminor: 0 },
  });
  await assert.rejects(readAll(Buffer.concat([sparse, Buffer.alloc(1024)]), 'layer 3'), {
    code: 'TAR_UNSUPPORTED_TYPE',
    message: 'layer 3: tar header at byte 0: unsupported tar entry type "S" for sparse',
  });
});

test('EOF at a header boundary ends the archive; hard link sizes are ignored without PAX', async () => {
  const archive = await writeArchive([{ entry: entry({ path: 'f', size: 2 }), body: Buffer.from('hi') }]);
  const got = await readAll(archive.subarray(0, 1024), 'test');
  assert.equal(got.length, 1);
  // A ustar hard link header that claims 5 bytes (some writers copy the target's size) has no body.
  const link = encodeHeader({
    name: Buffer.from('l'),
    prefix: Buffer.alloc(0),
    ...{ mode: 0o644, uid: 0, gid: 0, size: 5, mtime: 0, typeflag: '1', linkname: 'f', uname: '', gname: '' },
    ...{ devmajor: 0, devminor: 0 },
  });
  const withLink = Buffer.concat([archive.subarray(0, 1024), link, archive.subarray(0, 1024), Buffer.alloc(1024)]);
  const all = await readAll(withLink, 'test');
  assert.deepEqual(
    all.map((m) => [m.entry.path, m.entry.type, m.entry.size]),
    [
      ['f', 'file', 2],
      ['l', 'hardlink', 0],
      ['f', 'file', 2],
    ],
  );
});

test('a 50 MiB body streams through in bounded chunks', async () => {
  const size = 50 * 1024 * 1024 + 123;
  const input = new PassThrough({ highWaterMark: 256 * 1024 });
  const w = new TarWriter(input);
  const sent = createHash('sha256');
  async function* body() {
    const chunk = Buffer.alloc(1 << 20);
    for (let left = size, i = 0; left > 0; left -= chunk.length, i++) {
      chunk.fill(i & 0xff);
      const c = chunk.subarray(0, Math.min(left, chunk.length));
      sent.update(c);
      yield Buffer.from(c);
    }
  }
  const writing = (async () => {
    await w.add(entry({ path: 'big', size }), body());
    await w.add(entry({ path: 'after', size: 1 }), Buffer.from('z'));
    await w.finish();
  })();
  const got = createHash('sha256');
  let maxChunk = 0;
  let n = 0;
  const paths: string[] = [];
  for await (const m of readTar(input, 'big')) {
    paths.push(m.entry.path);
    for await (const c of m.body) {
      maxChunk = Math.max(maxChunk, c.length);
      n += c.length;
      if (m.entry.path === 'big') got.update(c);
    }
  }
  await writing;
  assert.deepEqual(paths, ['big', 'after']);
  assert.equal(n, size + 1);
  assert.ok(maxChunk <= 64 * 1024, `chunk of ${maxChunk}`);
  assert.equal(got.digest('hex'), sent.digest('hex'));
});

test('global PAX records apply to later entries unless overridden', async () => {
  const { encodePax } = await import('../../../../src/image/tar/header.js');
  const hdr = (name: string, typeflag: string, size: number) =>
    encodeHeader({
      name: Buffer.from(name),
      prefix: Buffer.alloc(0),
      ...{ mode: 0o644, uid: 5, gid: 5, size, mtime: 0, typeflag, linkname: '', uname: '', gname: '' },
      ...{ devmajor: 0, devminor: 0 },
    });
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
  const g = encodePax([
    ['uid', Buffer.from('1000')],
    ['mtime', Buffer.from('1700000000.987654321')],
    ['LIBARCHIVE.xattr.user.a%3Db', Buffer.from(Buffer.from([0, 255]).toString('base64'))],
  ]);
  const x = encodePax([['uid', Buffer.from('7')]]);
  const archive = Buffer.concat([
    hdr('g', 'g', g.length),
    pad(g),
    hdr('one', '0', 0),
    hdr('x', 'x', x.length),
    pad(x),
    hdr('two', '0', 0),
    Buffer.alloc(1024),
  ]);
  const got = await readAll(archive);
  assert.deepEqual(
    got.map((m) => [m.entry.path, m.entry.uid, m.entry.mtime, m.entry.xattrs.get('user.a=b')]),
    [
      ['one', 1000, 1700000000, Buffer.from([0, 255])],
      ['two', 7, 1700000000, Buffer.from([0, 255])],
    ],
  );
});
