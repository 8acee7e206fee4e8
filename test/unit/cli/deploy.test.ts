import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, parseFromFirstBrace } from '../../helpers/cli.js';
import { TINY_GVMI } from '../../helpers/paths.js';

const bases: string[] = [];
after(async () => {
  for (const b of bases) await fs.rm(b, { recursive: true, force: true });
});

async function tmpWorkdir(): Promise<string> {
  // Provider workdirs are long: <data>/exe-unit/work/<64 hex>/<32 hex>.
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-deploy-'));
  bases.push(base);
  const wd = path.join(base, 'exe-unit', 'work', 'a'.repeat(64), 'b'.repeat(32));
  await fs.mkdir(wd, { recursive: true });
  return wd;
}

test('deploy with the ExeUnit argv prints the deploy JSON only and lays out the workdir', async () => {
  const wd = await tmpWorkdir();
  const args = [
    '--workdir',
    wd,
    '--task-package',
    TINY_GVMI,
    '--cpu-cores',
    '2',
    '--mem-gib',
    '0.5',
    '--storage-gib',
    '2',
    '--volume-override',
    '{"/golem/output":{"host":{}},"/scratch":{"ram":{"size":"1.1 GB"}}}',
    '--hostname',
    'h',
    'deploy',
    '--',
  ];
  const r = await runCli(args, { cwd: wd });
  assert.equal(r.code, 0, r.stderr);
  const out = parseFromFirstBrace(r.stdout) as {
    startMode: string;
    valid: unknown;
    vols: { name: string; path: string }[];
  };
  assert.equal(r.stdout.trim().startsWith('{'), true, 'nothing but the JSON on stdout');
  assert.equal(out.startMode, 'blocking');
  assert.deepEqual(out.valid, { Ok: '' });
  assert.deepEqual(out.vols.map((v) => v.path).sort(), ['/golem/output', '/golem/work']);
  for (const v of out.vols) assert.ok((await fs.stat(path.join(wd, v.name))).isDirectory());
  const dep = JSON.parse(await fs.readFile(path.join(wd, 'deployment.json'), 'utf8'));
  assert.equal(dep.resources.memBytes, 512 * 1024 ** 2);
  assert.equal(dep.resources.storageBytes, 2 * 1024 ** 3);
  assert.equal(dep.volumes.find((v: { guestPath: string }) => v.guestPath === '/scratch').sizeBytes, 1.1e9);
  assert.equal((await fs.stat(path.join(wd, 'disks', 'root-upper.img'))).size, 2 * 1024 ** 3);
  // Re-running deploy on the same workdir is safe and gives the same answer.
  const again = await runCli(args, { cwd: wd });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(parseFromFirstBrace(again.stdout), out);
});

test('re-deploy reuses disks whose size is not a whole number of sectors (regression)', async () => {
  const wd = await tmpWorkdir();
  const args = [
    '--workdir',
    wd,
    '--task-package',
    TINY_GVMI,
    '--storage-gib',
    '0.3',
    '--volume-override',
    '{"/data":{"storage":{"size":"10.7 MB","preallocate":"1 MB"}}}',
    'deploy',
    '--',
  ];
  assert.equal((await runCli(args)).code, 0);
  const disks = (await fs.readdir(path.join(wd, 'disks'))).sort();
  const before = await Promise.all(disks.map((d) => fs.stat(path.join(wd, 'disks', d))));
  assert.ok(before.every((s) => s.size % 512 === 0));
  assert.ok(
    before.some((s) => s.blocks * 512 >= 1e6),
    'preallocated',
  );
  assert.equal((await runCli(args)).code, 0);
  const after = await Promise.all(disks.map((d) => fs.stat(path.join(wd, 'disks', d))));
  assert.deepEqual(
    after.map((s) => s.mtimeMs),
    before.map((s) => s.mtimeMs),
    'disks were not recreated',
  );
});

test('unknown global options are ignored, with or without a value', async () => {
  const wd = await tmpWorkdir();
  const r = await runCli([
    '--workdir',
    wd,
    '--some-runtime-arg',
    'x',
    '--flag-only',
    '--k=v',
    '--task-package',
    TINY_GVMI,
    'deploy',
    '--',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const log = await fs.readFile(path.join(wd, 'logs', 'runtime.log'), 'utf8');
  assert.match(log, /ignoring unknown global options/);
});

const failures: [string, string[], RegExp, number][] = [
  ['missing --task-package', [], /--task-package is required/, 2],
  ['missing image file', ['--task-package', '/nonexistent.gvmi'], /\/nonexistent.gvmi: cannot open/, 3],
  [
    'bad override JSON',
    ['--task-package', TINY_GVMI, '--volume-override', '{'],
    /--volume-override: not valid JSON/,
    4,
  ],
  ['host on /', ['--task-package', TINY_GVMI, '--volume-override', '{"/":{"host":{}}}'], /cannot be mounted on \//, 4],
  [
    'relative guest path',
    ['--task-package', TINY_GVMI, '--volume-override', '{"x/y":{"host":{}}}'],
    /is not absolute/,
    4,
  ],
  ['dot-dot guest path', ['--task-package', TINY_GVMI, '--volume-override', '{"/x/../y":{"host":{}}}'], /"\.\."/, 4],
  [
    'bad size',
    ['--task-package', TINY_GVMI, '--volume-override', '{"/x":{"ram":{"size":"big"}}}'],
    /"big" is not a size/,
    4,
  ],
  [
    'bad --cpu-cores',
    ['--task-package', TINY_GVMI, '--cpu-cores', 'two'],
    /--cpu-cores "two": expected a whole number/,
    2,
  ],
  ['bad --mem-gib', ['--task-package', TINY_GVMI, '--mem-gib', '-1'], /--mem-gib "-1"/, 2],
  ['tiny --storage-gib', ['--task-package', TINY_GVMI, '--storage-gib', '0.001'], /below the minimum/, 4],
];
for (const [name, extra, re, code] of failures) {
  test(`deploy fails cleanly: ${name}`, async () => {
    const wd = await tmpWorkdir();
    const r = await runCli(['--workdir', wd, ...extra, 'deploy', '--']);
    assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
    assert.equal(r.stdout, '', 'nothing on stdout');
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    await assert.rejects(fs.stat(path.join(wd, 'deployment.json')), /ENOENT/);
    await assert.rejects(fs.stat(path.join(wd, 'disks')), /ENOENT/);
  });
}
