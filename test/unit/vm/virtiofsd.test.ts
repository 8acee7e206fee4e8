import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  detectVirtiofsdKind,
  virtiofsdArgs,
  virtiofsdSearchPath,
  findVirtiofsd,
  identifyVirtiofsd,
} from '../../../src/vm/virtiofsd.js';
import { VirtiofsdError } from '../../../src/vm/errors.js';

const C_HELP = `usage: /usr/lib/qemu/virtiofsd [options]
    -o cache=<mode>            cache mode. could be one of "auto, always, none"
    -o sandbox=namespace|chroot
    -o source=PATH             shared directory tree
    --socket-path=PATH         path for the vhost-user socket`;
const C_VERSION = 'virtiofsd version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)';
const RUST_HELP = `virtiofsd 1.10.1
Usage: virtiofsd [OPTIONS]
      --shared-dir <SHARED_DIR>   Shared directory path
      --socket-path <SOCKET_PATH> vhost-user socket path
      --sandbox <SANDBOX>         Sandbox mechanism [default: namespace] [possible values: namespace, chroot, none]`;

describe('detectVirtiofsdKind', () => {
  it('tells the C one from the Rust one by --help', () => {
    assert.equal(detectVirtiofsdKind(C_HELP, C_VERSION), 'c');
    assert.equal(detectVirtiofsdKind(RUST_HELP, 'virtiofsd 1.10.1'), 'rust');
  });
  it('falls back on --version', () => {
    assert.equal(detectVirtiofsdKind('', C_VERSION), 'c');
    assert.equal(detectVirtiofsdKind('', 'virtiofsd 1.13.0'), 'rust');
    assert.equal(detectVirtiofsdKind('something else', 'foo 1.0'), undefined);
  });
});

describe('virtiofsdArgs', () => {
  const o = { socketPath: '/run/y/r/vfs0.sock', sharedDir: '/w/vol-a', sandbox: 'namespace' as const };
  it('speaks the C command line', () => {
    assert.deepEqual(virtiofsdArgs('c', o), [
      '--socket-path=/run/y/r/vfs0.sock',
      '-o',
      'source=/w/vol-a',
      '-o',
      'cache=auto',
      '-o',
      'sandbox=namespace',
    ]);
    assert.deepEqual(virtiofsdArgs('c', { ...o, sandbox: 'chroot', announceSubmounts: true }).slice(-3), [
      'sandbox=chroot',
      '-o',
      'announce_submounts',
    ]);
  });
  it('speaks the Rust command line', () => {
    assert.deepEqual(virtiofsdArgs('rust', o), [
      '--socket-path',
      '/run/y/r/vfs0.sock',
      '--shared-dir',
      '/w/vol-a',
      '--cache',
      'auto',
      '--sandbox',
      'namespace',
    ]);
    assert.deepEqual(virtiofsdArgs('rust', { ...o, sandbox: 'none', cache: 'always', announceSubmounts: true }), [
      '--socket-path',
      '/run/y/r/vfs0.sock',
      '--shared-dir',
      '/w/vol-a',
      '--cache',
      'always',
      '--sandbox',
      'none',
      '--announce-submounts',
    ]);
  });
  it('refuses what the C one cannot take', () => {
    assert.throws(() => virtiofsdArgs('c', { ...o, sandbox: 'none' }), VirtiofsdError);
    assert.throws(() => virtiofsdArgs('c', { ...o, sharedDir: '/w/a,b' }), /comma/);
  });
});

describe('finding virtiofsd', () => {
  it('searches the explicit path only, else PATH then the distro locations', () => {
    assert.deepEqual(virtiofsdSearchPath('/opt/vfsd', { PATH: '/bin' }), ['/opt/vfsd']);
    assert.deepEqual(virtiofsdSearchPath(undefined, { PATH: '/a:/b' }), [
      '/a/virtiofsd',
      '/b/virtiofsd',
      '/usr/libexec/virtiofsd',
      '/usr/lib/qemu/virtiofsd',
    ]);
  });
  it('names the missing explicit path', async () => {
    await assert.rejects(
      findVirtiofsd({ explicitPath: '/nonexistent/virtiofsd' }),
      (e: VirtiofsdError) => e.code === 'VIRTIOFSD_NOT_FOUND' && e.message.includes('/nonexistent/virtiofsd'),
    );
  });
});

describe('identifyVirtiofsd', () => {
  it("says that QEMU's C virtiofsd needs root when it fails unprivileged", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfsd-'));
    const fake = path.join(dir, 'virtiofsd');
    fs.writeFileSync(fake, '#!/bin/sh\necho "setgroups() failed with error=1:Operation not permitted" >&2\nexit 1\n', {
      mode: 0o755,
    });
    try {
      await assert.rejects(identifyVirtiofsd(fake), (err: unknown) => {
        assert.ok(err instanceof VirtiofsdError);
        assert.match(err.message, /it needs root/);
        assert.match(err.message, /setgroups\(\) failed/);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
