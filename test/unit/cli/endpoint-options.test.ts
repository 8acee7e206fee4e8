/** `--vpn-endpoint`, `--inet-endpoint` and `--net` are checked before anything starts: a usage error (exit 2), one
 * line, nothing created. */
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
const refused: [string, string[], RegExp][] = [
  ...cases.map(([option, value, message]): [string, string[], RegExp] => [
    `${option} ${value}`,
    [option, value],
    message,
  ]),
  // stdin is not a terminal here: service mode, where the VM's traffic must take the ExeUnit's path.
  [
    '--net user in service mode',
    ['--net', 'user'],
    /--net user is for operators .* bypass the provider's outbound rules/,
  ],
  [
    '--net user with --inet-endpoint',
    ['--net', 'user', '--inet-endpoint', 'udp://127.0.0.1:4000'],
    /--net user and --inet-endpoint both give the VM its default route/,
  ],
  ['--net with an unknown mode', ['--net', 'bridge'], /--net "bridge": expected one of none, user/],
];
for (const [name, globals, message] of refused) {
  test(`start refuses ${name} with a one-line usage error`, async () => {
    const wd = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-endpoint-'));
    try {
      const r = await runCli(['--workdir', wd, ...globals, 'start'], { cwd: wd });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      // At most the log that records the error: no VM files, no sockets.
      assert.deepEqual(
        (await fs.readdir(wd)).filter((f) => f !== 'logs'),
        [],
        'nothing was created',
      );
    } finally {
      await fs.rm(wd, { recursive: true, force: true });
    }
  });
}
