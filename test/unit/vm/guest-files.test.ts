import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultCacheDir } from '../../../src/cache-dir.js';
import { guestDir, locateGuestFiles } from '../../../src/vm/guest-files.js';
import { GuestFilesError } from '../../../src/vm/errors.js';

describe('guest files', () => {
  it('picks the cache dir', () => {
    assert.equal(defaultCacheDir({ YA_RUNTIME_VM_CACHE: '/c' }, true), '/c');
    assert.equal(defaultCacheDir({}, true), '/var/cache/ya-runtime-vm');
    assert.equal(defaultCacheDir({}, false, '/home/u'), '/home/u/.cache/ya-runtime-vm');
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x' }, false, '/home/u'), '/x/ya-runtime-vm');
  });
  it('picks the guest dir: option, env, cache', () => {
    assert.equal(guestDir({ guestDir: '/g', env: { YA_RUNTIME_VM_GUEST_DIR: '/e' } }), '/g');
    assert.equal(guestDir({ env: { YA_RUNTIME_VM_GUEST_DIR: '/e' } }), '/e');
    assert.equal(guestDir({ env: { YA_RUNTIME_VM_CACHE: '/c' } }), '/c/guest/current');
  });
  it('says what to run when files are missing, and reads the manifest', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'guest-'));
    await assert.rejects(
      locateGuestFiles({ guestDir: dir }),
      (e: GuestFilesError) =>
        e.code === 'GUEST_NOT_BUILT' &&
        /run scripts\/build-guest/.test(e.message) &&
        /bzImage, initramfs.img, manifest.json/.test(e.message),
    );
    await fs.writeFile(path.join(dir, 'bzImage'), 'k');
    await fs.writeFile(path.join(dir, 'initramfs.img'), 'i');
    await fs.writeFile(path.join(dir, 'manifest.json'), '[1]');
    await assert.rejects(locateGuestFiles({ guestDir: dir }), (e: GuestFilesError) => e.code === 'GUEST_MANIFEST_BAD');
    await fs.writeFile(path.join(dir, 'manifest.json'), '{"kernel":"6.1"}');
    const g = await locateGuestFiles({ guestDir: dir });
    assert.equal(g.kernel, path.join(dir, 'bzImage'));
    assert.deepEqual(g.manifest, { kernel: '6.1' });
    await fs.rm(dir, { recursive: true });
  });
});
