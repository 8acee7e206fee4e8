import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkNotPvm, decideAccel, probeAccel, type AccelFacts, type Check } from '../../../src/vm/accel-probe.js';
import { AccelError } from '../../../src/vm/errors.js';
import { silentLogger } from '../../../src/log.js';

const OK: Check = { ok: true };
const no = (reason: string): Check => ({ ok: false, reason });
const good: AccelFacts = { kvmDevice: OK, notPvm: OK, bootProbe: OK };

describe('decideAccel', () => {
  const table: { name: string; facts: AccelFacts; reason?: RegExp }[] = [
    { name: 'usable', facts: good },
    { name: 'no device', facts: { kvmDevice: no('/dev/kvm does not exist') }, reason: /does not exist/ },
    { name: 'pvm', facts: { kvmDevice: OK, notPvm: no('backed by kvm_pvm') }, reason: /kvm_pvm/ },
    {
      name: 'boot hangs',
      facts: { kvmDevice: OK, notPvm: OK, bootProbe: no('did not finish within 10000 ms') },
      reason: /did not finish/,
    },
    { name: 'probe not run', facts: { kvmDevice: OK, notPvm: OK }, reason: /did not run/ },
  ];
  for (const row of table) {
    it(`auto, ${row.name}`, () => {
      const d = decideAccel('auto', row.facts);
      if (!row.reason) {
        assert.equal(d.accel, 'kvm');
        assert.equal(d.warning, undefined);
      } else {
        assert.equal(d.accel, 'tcg');
        assert.match(d.warning ?? '', row.reason);
        assert.match(d.warning ?? '', /falling back to TCG/);
      }
    });
    it(`kvm, ${row.name}`, () => {
      if (!row.reason) return assert.equal(decideAccel('kvm', row.facts).accel, 'kvm');
      assert.throws(
        () => decideAccel('kvm', row.facts),
        (e: AccelError) => e.code === 'KVM_UNUSABLE' && row.reason!.test(e.message) && /--accel kvm/.test(e.message),
      );
    });
  }
  it('tcg needs no facts', () => {
    assert.deepEqual(decideAccel('tcg', undefined), { accel: 'tcg', reason: 'TCG requested (--accel tcg)' });
  });
});

describe('probeAccel', () => {
  it('runs checks in order, stops at the first failure, caches the boot probe per kernel', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'accel-'));
    const kernel = path.join(dir, 'bzImage');
    await fs.writeFile(kernel, 'kernel-1');
    const calls: string[] = [];
    const checks = {
      kvmDevice: async () => (calls.push('dev'), OK),
      notPvm: async () => (calls.push('pvm'), OK),
      bootProbe: async () => (calls.push('boot'), no('hung')),
    };
    const opts = { kernelPath: kernel, cacheDir: dir, log: silentLogger(), checks };
    const d1 = await probeAccel('auto', opts);
    assert.equal(d1.accel, 'tcg');
    assert.deepEqual(calls, ['dev', 'pvm', 'boot']);
    calls.length = 0;
    const d2 = await probeAccel('auto', opts);
    assert.equal(d2.accel, 'tcg');
    assert.deepEqual(calls, ['dev', 'pvm'], 'boot probe result comes from the cache');
    calls.length = 0;
    await probeAccel('auto', { ...opts, now: () => Date.now() + 2 * 3600_000 });
    assert.deepEqual(calls, ['dev', 'pvm', 'boot'], 'an hour-old result is not used');
    calls.length = 0;
    await fs.writeFile(kernel, 'kernel-2');
    await probeAccel('auto', opts);
    assert.deepEqual(calls, ['dev', 'pvm', 'boot'], 'another kernel is probed again');
    calls.length = 0;
    await probeAccel('auto', {
      ...opts,
      checks: { ...checks, kvmDevice: async () => (calls.push('dev'), no('/dev/kvm does not exist')) },
    });
    assert.deepEqual(calls, ['dev']);
    calls.length = 0;
    assert.equal((await probeAccel('tcg', opts)).accel, 'tcg');
    assert.deepEqual(calls, []);
    await fs.rm(dir, { recursive: true });
  });

  it('sees kvm_pvm in /sys/module or /proc/modules', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pvm-'));
    assert.deepEqual(await checkNotPvm(root), OK);
    await fs.mkdir(path.join(root, 'proc'));
    await fs.writeFile(path.join(root, 'proc/modules'), 'kvm 1 0 - Live 0x0\n');
    assert.deepEqual(await checkNotPvm(root), OK);
    await fs.writeFile(path.join(root, 'proc/modules'), 'kvm_pvm 12 0 - Live 0x0\nkvm 1 1 kvm_pvm, Live 0x0\n');
    assert.equal((await checkNotPvm(root)).ok, false);
    await fs.rm(path.join(root, 'proc'), { recursive: true });
    await fs.mkdir(path.join(root, 'sys/module/kvm_pvm'), { recursive: true });
    assert.equal((await checkNotPvm(root)).ok, false);
    await fs.rm(root, { recursive: true });
  });
});
