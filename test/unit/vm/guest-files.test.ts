import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultCacheDir } from '../../../src/cache-dir.js';
import { guestDir, guestDirs, locateGuestFiles } from '../../../src/vm/guest-files.js';
import { GuestFilesError } from '../../../src/vm/errors.js';

async function writeGuest(dir: string, manifest: unknown): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'bzImage'), 'k');
  await fs.writeFile(path.join(dir, 'initramfs.img'), 'i');
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
}

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
  it('searches the user cache, the system cache, then the package', () => {
    assert.deepEqual(guestDirs({ env: {}, isRoot: false, home: '/home/u', packagedDir: '/p/guest' }), [
      '/home/u/.cache/ya-runtime-vm/guest/current',
      '/var/cache/ya-runtime-vm/guest/current',
      '/p/guest',
    ]);
    // root's cache is the system's: looked at once
    assert.deepEqual(guestDirs({ env: {}, isRoot: true, packagedDir: '/p/guest' }), [
      '/var/cache/ya-runtime-vm/guest/current',
      '/p/guest',
    ]);
    assert.deepEqual(guestDirs({ env: { YA_RUNTIME_VM_GUEST_DIR: '/e' }, packagedDir: '/p/guest' }), ['/e']);
  });
  it('skips a guest of another protocol: a stale cache does not shadow the packaged guest', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'guest-'));
    const cache = path.join(root, 'cache');
    const packaged = path.join(root, 'pkg');
    await writeGuest(path.join(cache, 'guest', 'current'), { protocol: 3 });
    await writeGuest(packaged, { protocol: 4 });
    const env = { YA_RUNTIME_VM_CACHE: cache };
    // Not this machine's /var/cache/ya-runtime-vm, which may hold a guest of either protocol.
    const systemCacheDir = path.join(root, 'system');
    const g = await locateGuestFiles({ env, protocol: 4, packagedDir: packaged, systemCacheDir });
    assert.equal(g.dir, packaged);
    assert.equal(g.tried[0]!.dir, path.join(cache, 'guest', 'current'));
    assert.match(g.tried[0]!.reason, /protocol 3, this runtime 4/);
    assert.deepEqual(g.tried.at(-1), { dir: packaged, reason: 'used' });
    // A manifest that names no protocol is passed over too; with none usable the error lists every folder tried.
    await writeGuest(packaged, {});
    await assert.rejects(
      locateGuestFiles({ env, protocol: 4, packagedDir: packaged, systemCacheDir }),
      (e: GuestFilesError) =>
        e.code === 'GUEST_PROTOCOL_MISMATCH' &&
        e.message.includes(`${cache}/guest/current: its init speaks guest protocol 3`) &&
        e.message.includes(`${packaged}: its manifest.json names no guest protocol`),
    );
    // Without a protocol to check (bench, tools), the first complete guest is taken.
    assert.equal(
      (await locateGuestFiles({ env, packagedDir: packaged, systemCacheDir })).dir,
      path.join(cache, 'guest', 'current'),
    );
    await fs.rm(root, { recursive: true });
  });
  it('says what to run when files are missing, and reads the manifest', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'guest-'));
    await assert.rejects(
      locateGuestFiles({ guestDir: dir }),
      (e: GuestFilesError) =>
        e.code === 'GUEST_NOT_BUILT' &&
        /scripts\/build-guest/.test(e.message) &&
        e.message.includes(`tried ${dir}: no guest there`),
    );
    await fs.writeFile(path.join(dir, 'bzImage'), 'k');
    await assert.rejects(
      locateGuestFiles({ guestDir: dir }),
      (e: GuestFilesError) => e.code === 'GUEST_NOT_BUILT' && /lacks initramfs.img, manifest.json/.test(e.message),
    );
    await fs.writeFile(path.join(dir, 'initramfs.img'), 'i');
    await fs.writeFile(path.join(dir, 'manifest.json'), '[1]');
    await assert.rejects(locateGuestFiles({ guestDir: dir }), (e: GuestFilesError) => e.code === 'GUEST_MANIFEST_BAD');
    await fs.writeFile(path.join(dir, 'manifest.json'), '{"kernel":"6.1"}');
    // An explicit folder is taken even without a stated protocol (the boot handshake still checks it) ...
    const g = await locateGuestFiles({ guestDir: dir, protocol: 4 });
    assert.equal(g.kernel, path.join(dir, 'bzImage'));
    assert.deepEqual(g.manifest, { kernel: '6.1' });
    // ... but not when it names another one.
    await fs.writeFile(path.join(dir, 'manifest.json'), '{"protocol":5}');
    await assert.rejects(
      locateGuestFiles({ guestDir: dir, protocol: 4 }),
      (e: GuestFilesError) => e.code === 'GUEST_PROTOCOL_MISMATCH',
    );
    await fs.rm(dir, { recursive: true });
  });
});
