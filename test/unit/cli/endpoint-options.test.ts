/** `--vpn-endpoint` / `--inet-endpoint` are checked before anything starts: a usage error (exit 2), one line. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../helpers/cli.js';

const cases: [string, string, RegExp][] = [
  [
    '--vpn-endpoint',
    'unix:///tmp/vpn.sock',
    /--vpn-endpoint "unix:\/\/\/tmp\/vpn.sock": unix:\/\/ endpoints are not supported \(use udp:\/\/IP:PORT/,
  ],
  ['--inet-endpoint', 'udp://127.0.0.1', /--inet-endpoint "udp:\/\/127.0.0.1": expected IPv4:PORT after the scheme/],
  ['--vpn-endpoint', 'udp://127.0.0.1:99999', /port 99999 is not in 1\.\.65535/],
];
for (const [option, value, message] of cases) {
  test(`start refuses ${option} ${value} with a one-line usage error`, async () => {
    const wd = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-endpoint-'));
    try {
      const r = await runCli(['--workdir', wd, option, value, 'start'], { cwd: wd });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.deepEqual(await fs.readdir(wd), [], 'nothing was created');
    } finally {
      await fs.rm(wd, { recursive: true, force: true });
    }
  });
}
