import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { probeAccel, type Check } from '../../../src/vm/accel-probe.js';
import { probeCacheFile, readProbeCache, writeProbeCache } from '../../../src/vm/probe-cache.js';
import { findVirtiofsd } from '../../../src/vm/virtiofsd.js';
import { silentLogger } from '../../../src/log.js';

const OK: Check = { ok: true };

async function tmpDir(tag: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `probe-cache-${tag}-`));
}

/** Replaces a file by another (new inode, new mtime), as a package upgrade or a guest rebuild does. */
async function replaceFile(p: string, text: string, mode = 0o644): Promise<void> {
  await fs.writeFile(`${p}.new`, text, { mode });
  await fs.rename(`${p}.new`, p);
}

describe('accelerator probe cache', () => {
  it('is invalidated by another QEMU, another guest kernel or another runtime version', async () => {
    const dir = await tmpDir('accel');
    const kernel = path.join(dir, 'bzImage');
    const qemu = path.join(dir, 'qemu-system-x86_64');
    await fs.writeFile(kernel, 'kernel-1');
    await fs.writeFile(qemu, '#!/bin/sh\n', { mode: 0o755 });
    let boots = 0;
    const opts = {
      kernelPath: kernel,
      qemuBinary: qemu,
      cacheDir: dir,
      log: silentLogger(),
      runtimeVersion: '1.0.0',
      checks: { kvmDevice: async () => OK, notPvm: async () => OK, bootProbe: async () => (boots++, OK) },
    };
    const probe = async (o = opts): Promise<number> => {
      const before = boots;
      assert.equal((await probeAccel('auto', o)).accel, 'kvm');
      return boots - before;
    };
    assert.equal(await probe(), 1, 'first start probes');
    assert.equal(await probe(), 0, 'the next start takes the cached result');
    await replaceFile(qemu, '#!/bin/sh\n# upgraded\n', 0o755);
    assert.equal(await probe(), 1, 'a new QEMU binary is probed again');
    assert.equal(await probe(), 0);
    await replaceFile(kernel, 'kernel-2');
    assert.equal(await probe(), 1, 'a rebuilt guest kernel is probed again');
    assert.equal(await probe(), 0);
    assert.equal(await probe({ ...opts, runtimeVersion: '1.0.1' }), 1, 'another runtime version probes again');
    const files = await fs.readdir(path.join(dir, 'probes'));
    assert.ok(
      files.every((f) => /^accel-[0-9a-f]{16}\.json$/.test(f)),
      `only finished entries: ${files.join(' ')}`,
    );
  });
});

describe('virtiofsd identity cache', () => {
  it('asks the binary once, again after it changes or the runtime version does', async () => {
    const dir = await tmpDir('vfsd');
    const bin = path.join(dir, 'virtiofsd');
    const asked = path.join(dir, 'asked');
    const script = (v: string): string =>
      `#!/bin/sh\necho "$1" >> ${asked}\n` +
      `case "$1" in --help) echo "  --shared-dir <dir>";; --version) echo "virtiofsd ${v}";; esac\n`;
    await fs.writeFile(bin, script('1.10.0'), { mode: 0o755 });
    const asks = async (): Promise<number> => (await fs.readFile(asked, 'utf8').catch(() => '')).split('\n').length - 1;
    const find = (runtimeVersion = '1.0.0') => findVirtiofsd({ explicitPath: bin, cacheDir: dir, runtimeVersion });

    assert.deepEqual(await find(), { path: bin, kind: 'rust', version: 'virtiofsd 1.10.0' });
    assert.equal(await asks(), 2, '--help and --version');
    assert.deepEqual(await find(), { path: bin, kind: 'rust', version: 'virtiofsd 1.10.0' });
    assert.equal(await asks(), 2, 'the second start asks nothing');
    await replaceFile(bin, script('1.11.1'), 0o755);
    assert.equal((await find()).version, 'virtiofsd 1.11.1', 'an upgraded binary is asked again');
    assert.equal(await asks(), 4);
    await find('2.0.0');
    assert.equal(await asks(), 6, 'another runtime version asks again');
    // Without a cache folder it is asked every time, as before.
    await findVirtiofsd({ explicitPath: bin });
    assert.equal(await asks(), 8);
  });
});

describe('probe cache entries', () => {
  it('are written atomically: concurrent writers, a reader never sees a partial entry, no temporary left', async () => {
    const dir = await tmpDir('atomic');
    const key = { runtime: '1', thing: 'x' };
    const file = probeCacheFile(dir, 'test', key);
    const big = (i: number): { i: number; pad: string } => ({ i, pad: 'p'.repeat(200_000 + i) });
    await writeProbeCache(file, key, big(0), 1);
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        const text = await fs.readFile(file, 'utf8');
        JSON.parse(text); // throws on a partial entry
        reads++;
      }
    })();
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeProbeCache(file, key, big(i + 1), 1)));
    stop = true;
    await reader;
    assert.ok(reads > 0);
    const v = await readProbeCache(file, key, {
      now: 2,
      valid: (x): x is { i: number } => typeof (x as { i?: unknown }).i === 'number',
    });
    assert.ok(v && v.i >= 1 && v.i <= 20);
    assert.deepEqual(await fs.readdir(path.dirname(file)), [path.basename(file)], 'no temporary file left');
  });

  it('are ignored for another key, when too old, from the future or of the wrong shape', async () => {
    const dir = await tmpDir('key');
    const key = { runtime: '1', kernel: 'a' };
    const file = probeCacheFile(dir, 'test', key);
    await writeProbeCache(file, key, { ok: true }, 1000);
    const valid = (x: unknown): x is { ok: boolean } => typeof (x as { ok?: unknown }).ok === 'boolean';
    assert.deepEqual(await readProbeCache(file, key, { now: 1500, ttlMs: 1000, valid }), { ok: true });
    assert.equal(await readProbeCache(file, { ...key, kernel: 'b' }, { now: 1500, valid }), undefined);
    assert.equal(await readProbeCache(file, { ...key, extra: 'c' }, { now: 1500, valid }), undefined);
    assert.equal(await readProbeCache(file, key, { now: 5000, ttlMs: 1000, valid }), undefined);
    assert.equal(await readProbeCache(file, key, { now: 500, valid }), undefined);
    assert.equal(
      await readProbeCache(file, key, { now: 1500, valid: (x): x is string => typeof x === 'string' }),
      undefined,
    );
    assert.notEqual(probeCacheFile(dir, 'test', { kernel: 'b', runtime: '1' }), file);
    assert.equal(probeCacheFile(dir, 'test', { kernel: 'a', runtime: '1' }), file, 'key order does not matter');
  });
});
