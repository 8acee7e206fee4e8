/**
 * The accelerator probe on this machine: the boot probe itself run under TCG (a real kernel panics and QEMU exits;
 * a guest that hangs is cut off at the bound), and the whole decision for `auto` and `kvm`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { bootProbe, checkKvmDevice, checkNotPvm, probeAccel } from '../../src/vm/accel-probe.js';
import { AccelError } from '../../src/vm/errors.js';
import { guestDir, KERNEL_FILE } from '../../src/vm/guest-files.js';
import { removeTestDir } from '../helpers/vm.js';

const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'vm-accel-'));
after(() => removeTestDir(tmp));
const realKernel = path.join(guestDir(), KERNEL_FILE);
const haveKernel = fs.existsSync(realKernel);

describe('accelerator probe', { timeout: 60_000 }, () => {
  it('a guest that hangs fails the boot probe within its bound', async () => {
    const garbage = path.join(tmp, 'garbage');
    await fsp.writeFile(garbage, Buffer.alloc(256 * 1024, 0x90));
    const t0 = Date.now();
    const r = await bootProbe({ kernelPath: garbage, accel: 'tcg', timeoutMs: 1500 });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /did not finish within 1500 ms/);
    assert.ok(Date.now() - t0 < 6000);
  });

  it(
    'the guest kernel passes the boot probe under TCG',
    { skip: !haveKernel && 'guest kernel not built' },
    async () => {
      const r = await bootProbe({ kernelPath: realKernel, accel: 'tcg', timeoutMs: 30_000 });
      assert.deepEqual(r, { ok: true });
    },
  );

  it('on this machine: auto gives KVM only if every check passes, else TCG with a warning; kvm fails clearly', async () => {
    const kernel = haveKernel ? realKernel : path.join(tmp, 'garbage');
    const dev = await checkKvmDevice();
    const pvm = await checkNotPvm();
    const d = await probeAccel('auto', {
      kernelPath: kernel,
      cacheDir: tmp,
      log: silentLogger(),
      bootTimeoutMs: 10_000,
    });
    if (!dev.ok || !pvm.ok) {
      assert.equal(d.accel, 'tcg');
      assert.match(d.warning ?? '', /KVM is not usable/);
      await assert.rejects(probeAccel('kvm', { kernelPath: kernel, log: silentLogger() }), AccelError);
    }
    assert.equal((await probeAccel('tcg', { kernelPath: kernel, log: silentLogger() })).accel, 'tcg');
  });
});
