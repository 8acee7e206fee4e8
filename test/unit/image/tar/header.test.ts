import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checksums,
  encodeHeader,
  encodePax,
  paxRecord,
  parseHeader,
  parseNumber,
  parsePax,
  splitUstarPath,
} from '../../../../src/image/tar/header.js';
import { TarFormatError } from '../../../../src/image/tar/errors.js';

const base = {
  name: Buffer.from('a/b'),
  prefix: Buffer.alloc(0),
  mode: 0o4755,
  uid: 1,
  gid: 2,
  size: 3,
  mtime: 4,
  typeflag: '0',
  linkname: '',
  uname: 'u',
  gname: 'g',
  devmajor: 0,
  devminor: 0,
};

test('numbers: octal with space/NUL padding and GNU base-256', () => {
  assert.equal(parseNumber(Buffer.from('0000755\0'), 'w', 'mode'), 0o755);
  assert.equal(parseNumber(Buffer.from('  755 \0'), 'w', 'mode'), 0o755);
  assert.equal(parseNumber(Buffer.from('\0\0\0\0'), 'w', 'mode'), 0);
  const b256 = Buffer.alloc(8);
  b256[0] = 0x80;
  b256.writeUIntBE(3_000_000_000, 2, 6);
  assert.equal(parseNumber(b256, 'w', 'uid'), 3_000_000_000);
  assert.throws(() => parseNumber(Buffer.from('12x4\0'), 'w', 'size'), { code: 'TAR_BAD_FIELD' });
});

test('header encodes and parses back; signed checksum is accepted too', () => {
  const block = encodeHeader(base);
  const h = parseHeader(block, 'w');
  assert.equal(h.name, 'a/b');
  assert.equal(h.mode, 0o4755);
  assert.deepEqual([h.uid, h.gid, h.size, h.mtime, h.typeflag, h.uname, h.gname], [1, 2, 3, 4, '0', 'u', 'g']);
  // A byte >= 0x80 makes signed and unsigned sums differ; store the signed one.
  const hi = encodeHeader({ ...base, uname: 'ü' });
  const signed = checksums(hi).signed;
  hi.write(signed.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  assert.equal(parseHeader(hi, 'w').uname, 'ü');
  hi[0] = 0x62;
  assert.throws(
    () => parseHeader(hi, 'layer 2: tar header at byte 0'),
    (e: unknown) => {
      assert.ok(e instanceof TarFormatError);
      assert.equal(e.code, 'TAR_CHECKSUM');
      assert.equal(e.message, 'layer 2: tar header at byte 0: checksum mismatch');
      return true;
    },
  );
});

test('ustar prefix split', () => {
  const long = Buffer.from(`${'d'.repeat(120)}/${'f'.repeat(90)}`);
  const s = splitUstarPath(long);
  assert.equal(s?.prefix.toString(), 'd'.repeat(120));
  assert.equal(s?.name.toString(), 'f'.repeat(90));
  const h = parseHeader(encodeHeader({ ...base, ...s! }), 'w');
  assert.equal(h.name, long.toString());
  assert.equal(splitUstarPath(Buffer.from('x'.repeat(101))), undefined);
  assert.equal(splitUstarPath(Buffer.from(`${'d'.repeat(156)}/f`)), undefined);
});

test('PAX records: len counts itself, values are raw bytes', () => {
  assert.equal(paxRecord('path', Buffer.from('abc')).toString(), '12 path=abc\n');
  // 9 bytes of "key=value\n" + ' ' = 10; with a 2-digit length it is 12; crossing 100 needs 3 digits.
  for (let n = 80; n < 110; n++) {
    const r = paxRecord('k', Buffer.alloc(n, 0x61));
    assert.equal(Number(r.toString('latin1').split(' ')[0]), r.length);
  }
  const bin = Buffer.from([0x00, 0x80, 0xff, 0x0a, 0x3d, 0x20, 0x01]);
  const body = encodePax([
    ['SCHILY.xattr.security.capability', bin],
    ['path', Buffer.from('ä/ö')],
  ]);
  const m = parsePax(Buffer.concat([body, Buffer.alloc(30)]), 'w');
  assert.deepEqual(m.get('SCHILY.xattr.security.capability'), bin);
  assert.equal(m.get('path')?.toString(), 'ä/ö');
  assert.throws(() => parsePax(Buffer.from('99 path=x\n'), 'w'), { code: 'TAR_BAD_FIELD' });
  assert.throws(() => parsePax(Buffer.from('x path=x\n'), 'w'), { code: 'TAR_BAD_FIELD' });
});
