/** scripts/decode-console-trace maps the raw addresses of a guest oops to symbol+offset with a System.map. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../../helpers/paths.js';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'decode-console-trace');

test('decodes RIP and call-trace addresses; leaves other numbers alone', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-decode-'));
  try {
    const map = path.join(dir, 'System.map');
    await fs.writeFile(
      map,
      [
        'ffffffff81000000 T _text',
        'ffffffff811fbe60 t vring_map_one_sg',
        'ffffffff811fbf00 T virtqueue_add_split',
        'ffffffff811fc000 D some_data',
        'ffffffff811fd000 T port_fops_splice_write',
        '',
      ].join('\n'),
    );
    const oops =
      'RIP: 0010:0xffffffff811fbe8d\nRSP: 0018:ffff8880001a3cf0 EFLAGS: 00000046\n ? 0xffffffff811fd0fd\n ? 0xffffffff811fc010\n';
    const r = await execa(SCRIPT, ['--map', map], { input: oops });
    assert.equal(
      r.stdout,
      [
        'RIP: 0010:0xffffffff811fbe8d [vring_map_one_sg+0x2d/0xa0]',
        'RSP: 0018:ffff8880001a3cf0 EFLAGS: 00000046',
        ' ? 0xffffffff811fd0fd [port_fops_splice_write+0xfd]',
        // Data symbols are skipped: this address lies in the text symbol before it.
        ' ? 0xffffffff811fc010 [virtqueue_add_split+0x110/0x1100]',
      ].join('\n'),
    );
    const missing = await execa(SCRIPT, ['--map', path.join(dir, 'nope')], { input: oops, reject: false });
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /cannot read System.map .*nope \(ENOENT\)/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
