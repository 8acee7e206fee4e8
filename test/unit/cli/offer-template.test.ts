import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { parseCpuinfo } from '../../../src/cli/offer-template.js';

test('offer-template prints both keys, CPU facts and only working capabilities', async () => {
  const r = await runCli(['offer-template']);
  assert.equal(r.code, 0, r.stderr);
  const t = JSON.parse(r.stdout);
  assert.equal(t.constraints, '');
  const p = t.properties;
  assert.equal(typeof p['golem.inf.cpu.vendor'], 'string');
  assert.equal(typeof p['golem.inf.cpu.brand'], 'string');
  assert.ok(Array.isArray(p['golem.inf.cpu.capabilities']));
  assert.ok(p['golem.inf.cpu.capabilities'].every((f: string) => f === f.toLowerCase()));
  // What ya-runtime-vm offers, minus gpu: each is tested end to end (test/vm/vpn.test.ts, inet.test.ts).
  assert.deepEqual(p['golem.runtime.capabilities'], ['inet', 'vpn', 'manifest-support', 'start-entrypoint']);
});

test('cpuinfo parsing', () => {
  const c = parseCpuinfo(
    'processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Intel Xeon\nstepping\t: 7\nflags\t\t: fpu SSE2 sse2 avx\n\nprocessor\t: 1\n',
  );
  assert.deepEqual(c, {
    vendor: 'GenuineIntel',
    brand: 'Intel Xeon',
    model: 'Stepping 7 Family 6 Model 85',
    capabilities: ['avx', 'fpu', 'sse2'],
  });
});

test('--version, --help and an unknown command', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal((await runCli(['--version'])).stdout, `ya-runtime-vm ${pkg.version}\n`); // read by the bundled CLI too
  assert.match((await runCli(['--help'])).stdout, /Usage: ya-runtime-vm/);
  const bad = await runCli(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
});

test('start/deploy never print help on stdout, whatever args they get (stdout carries frames or JSON only)', async () => {
  for (const cmd of ['start', 'deploy']) {
    const r = await runCli(['--workdir', '/nonexistent-workdir', cmd, '--help']);
    assert.equal(r.stdout, '', `${cmd} --help printed to stdout`);
    assert.notEqual(r.code, 0);
  }
});
