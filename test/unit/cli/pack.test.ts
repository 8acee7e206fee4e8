import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { runCli } from '../../helpers/cli.js';
import { readGvmi, sha3File } from '../../../src/image/gvmi-reader.js';

test('pack → read back metadata → unsquashfs lists the files', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pack-'));
  const root = path.join(dir, 'root');
  await fs.mkdir(path.join(root, 'etc'), { recursive: true });
  await fs.writeFile(path.join(root, 'etc', 'hello.txt'), 'hello\n');
  const out = path.join(dir, 'img.gvmi');
  const r = await runCli([
    'pack',
    root,
    '-o',
    out,
    '--env',
    'A=1',
    '--env',
    'PATH=/bin',
    '--cmd',
    '/bin/sh',
    '--cmd',
    '-c',
    '--workdir',
    '/w',
    '--volume',
    '/in',
    '--volume',
    '/out',
    '--user',
    '1000:1000',
    '--compression',
    'gzip',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const info = await readGvmi(out);
  assert.deepEqual(info.config, {
    env: ['A=1', 'PATH=/bin'],
    entrypoint: [],
    cmd: ['/bin/sh', '-c'],
    workingDir: '/w',
    user: '1000:1000',
  });
  assert.deepEqual(info.volumes, ['/in', '/out']);
  assert.match(r.stdout, new RegExp(`sha3-224: ${await sha3File(out)}`));
  const ls = await execa('unsquashfs', ['-l', '-d', '', out]);
  assert.match(ls.stdout, /etc\/hello.txt/);
  await fs.rm(dir, { recursive: true });
});

test('pack refuses an output inside the input and leaves nothing on failure', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pack-'));
  const r = await runCli(['pack', dir, '-o', path.join(dir, 'sub', 'x.gvmi')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /is inside the input folder/);
  const missing = await runCli(['pack', path.join(dir, 'nope'), '-o', path.join(os.tmpdir(), 'never.gvmi')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /nope does not exist/);
  const badEnv = await runCli(['pack', dir, '-o', path.join(os.tmpdir(), 'never.gvmi'), '--env', 'NOEQUALS']);
  assert.match(badEnv.stderr, /--env "NOEQUALS" is not K=V/);
  await assert.rejects(fs.stat(path.join(os.tmpdir(), 'never.gvmi')));
  await fs.rm(dir, { recursive: true });
});
