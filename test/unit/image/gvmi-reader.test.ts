import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { readGvmi, sha3File, parseLengthField } from '../../../src/image/gvmi-reader.js';
import { gvmiTrailer } from '../../../src/image/gvmi-writer.js';
import { ImageError } from '../../../src/image/errors.js';
import { TINY_GVMI } from '../../helpers/paths.js';

test('tiny-lzo.gvmi reads back with the documented length, CRC, hash and metadata', async () => {
  const info = await readGvmi(TINY_GVMI);
  assert.equal(info.size, 4498);
  assert.equal(info.jsonLength, 390);
  assert.equal(info.crc, 0x54d494ff);
  assert.deepEqual(info.volumes, ['/golem/work']);
  assert.equal(info.config.workingDir, '/golem/work');
  assert.deepEqual(info.config.cmd, ['/bin/sh']);
  assert.equal(await sha3File(TINY_GVMI), 'e018ab9e491605017f20f9d52e8fbd3d5416915c0975fadb723fdc1f');
});

test('writer trailer round-trips through the reader', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gvmi-'));
  const f = path.join(dir, 'x.gvmi');
  const meta = { Env: ['A=1'], Cmd: ['/bin/true'], WorkingDir: '/w', Volumes: { '/v': {} }, User: '1000:1000' };
  await fs.writeFile(f, Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(4092), gvmiTrailer(meta)]));
  const info = await readGvmi(f);
  assert.deepEqual(info.config, {
    env: ['A=1'],
    entrypoint: [],
    cmd: ['/bin/true'],
    workingDir: '/w',
    user: '1000:1000',
  });
  assert.deepEqual(info.volumes, ['/v']);
  await fs.rm(dir, { recursive: true });
});

test('length field must be 8 digits and fit the file', () => {
  assert.throws(() => parseLengthField(Buffer.from('0000x390'), 5000, 'f'), /not 8 decimal digits/);
  assert.throws(
    () => parseLengthField(Buffer.from('99999999'), 5000, 'f'),
    /metadata length 99999999 exceeds file size 5000/,
  );
  assert.equal(parseLengthField(Buffer.from('00000390'), 5000, 'f'), 390);
});

function trailerWith(json: string, crcOverride?: number, lenOverride?: string): Buffer {
  const j = Buffer.from(json);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crcOverride ?? zlib.crc32(j));
  return Buffer.concat([crc, j, Buffer.from(lenOverride ?? String(j.length).padStart(8, '0'))]);
}

const body = Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(4092)]);
const malformed: [string, Buffer, RegExp, string][] = [
  ['too short', Buffer.from('hsqs1'), /too short/, 'IMAGE_TOO_SHORT'],
  [
    'not squashfs',
    Buffer.concat([Buffer.from('XXXX'), Buffer.alloc(4092), trailerWith('{}')]),
    /SquashFS/,
    'IMAGE_NOT_SQUASHFS',
  ],
  [
    'non-digit length',
    Buffer.concat([body, trailerWith('{}', undefined, '00000a02')]),
    /not 8 decimal digits/,
    'IMAGE_BAD_LENGTH',
  ],
  [
    'length exceeds file',
    Buffer.concat([body, trailerWith('{}', undefined, '90000000')]),
    /exceeds file size/,
    'IMAGE_LENGTH_EXCEEDS_FILE',
  ],
  [
    'CRC mismatch',
    Buffer.concat([body, trailerWith('{"Cmd":["/bin/sh"]}', 1234)]),
    /CRC mismatch/,
    'IMAGE_CRC_MISMATCH',
  ],
  ['JSON does not parse', Buffer.concat([body, trailerWith('{"Cmd":')]), /not valid JSON/, 'IMAGE_BAD_JSON'],
  ['metadata not an object', Buffer.concat([body, trailerWith('[1,2]')]), /not a JSON object/, 'IMAGE_BAD_METADATA'],
  [
    'Env of the wrong type',
    Buffer.concat([body, trailerWith('{"Env":"A=1"}')]),
    /metadata field Env/,
    'IMAGE_BAD_METADATA',
  ],
  [
    'Cmd element of the wrong type',
    Buffer.concat([body, trailerWith('{"Cmd":["a",1]}')]),
    /metadata field Cmd\.1/,
    'IMAGE_BAD_METADATA',
  ],
  [
    'WorkingDir of the wrong type',
    Buffer.concat([body, trailerWith('{"WorkingDir":5}')]),
    /metadata field WorkingDir/,
    'IMAGE_BAD_METADATA',
  ],
];

for (const [name, bytes, re, code] of malformed) {
  if (!code) continue;
  test(`malformed .gvmi rejected: ${name}`, async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gvmi-'));
    const f = path.join(dir, 'bad.gvmi');
    await fs.writeFile(f, bytes);
    await assert.rejects(readGvmi(f), (err: unknown) => {
      assert.ok(err instanceof ImageError, String(err));
      assert.match(err.message, re);
      assert.ok(err.message.startsWith(f), 'message names the file');
      assert.equal(err.code, code);
      return true;
    });
    await fs.rm(dir, { recursive: true });
  });
}

test('missing file and a folder are rejected by name', async () => {
  await assert.rejects(readGvmi('/nonexistent/x.gvmi'), /\/nonexistent\/x.gvmi: cannot open \(ENOENT\)/);
  await assert.rejects(readGvmi(os.tmpdir()), /not a regular file/);
});
