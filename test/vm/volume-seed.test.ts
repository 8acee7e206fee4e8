/**
 * VOLUME content (docs/image-import.md, "VOLUME content"): an image whose `/data` VOLUME holds files (owners,
 * modes, a set-uid file, a read-only folder, hard links, symlinks that point out of the volume) is pushed by skopeo
 * into Debian's docker-registry on loopback, packed from `docker://`, deployed and started as the ExeUnit does. The
 * volume's host folder then holds the image's files with their owners and modes (the guest copied them at the first
 * mount), the symlinks are symlinks with their text unchanged (nothing resolved on the host), an empty VOLUME gets
 * nothing, and a folder that already has files is left as it is. 1 vCPU, 0.5 GiB. Without docker-registry or skopeo
 * the image is packed from the layout it would have been pushed from (saying so).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { missingRegistryTool, startRegistry, type LocalRegistry } from '../helpers/registry.js';
import { execa } from 'execa';
import { pack } from '../../src/image/pack.js';
import { readDeployment } from '../../src/deployment/store.js';
import { Activity } from '../../src/activity.js';
import { silentLogger } from '../../src/log.js';
import { deployTo, longWorkdir, removeTestDir, waitNoneAlive } from '../helpers/vm.js';
import { buildImage, writeOciLayout, type FixtureEntry } from '../helpers/oci-builder.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { finish, spawnRuntime } from '../helpers/service-runtime.js';

const missing = missingRegistryTool;
const OWNERS_CHECKED = process.getuid?.() === 0;

const DATA: FixtureEntry[] = [
  { path: 'data', type: 'directory', mode: 0o750, uid: 1234, gid: 5678 },
  { path: 'data/app.conf', content: 'answer=42\n', mode: 0o640, uid: 1234, gid: 5678 },
  { path: 'data/hard', type: 'hardlink', linkname: 'data/app.conf' },
  { path: 'data/bin', type: 'directory' },
  { path: 'data/bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o4755, uid: 1000, gid: 1000 },
  { path: 'data/ro', type: 'directory', mode: 0o555 },
  { path: 'data/ro/frozen', content: 'frozen\n', mode: 0o444 },
  { path: 'data/empty', type: 'directory', mode: 0o700, uid: 42, gid: 43 },
  { path: 'data/shadow', type: 'symlink', linkname: '/etc/shadow' },
  { path: 'data/up', type: 'symlink', linkname: '../../../../../etc' },
  { path: 'golem/output', type: 'directory' },
];
const CONFIG = {
  Env: ['PATH=/usr/bin:/bin'],
  Cmd: ['/bin/sh'],
  Volumes: { '/data': {}, '/golem/output': {} },
};

async function hostFolder(workdir: string, guestPath: string): Promise<string> {
  const v = (await readDeployment(workdir)).volumes.find((x) => x.guestPath === guestPath);
  assert.ok(v && v.kind === 'host', `${guestPath} is a host volume`);
  return v.hostPath;
}

describe('VOLUME content is seeded into the fresh volume', () => {
  let dir: string;
  let registry: LocalRegistry | undefined;
  let gvmi: string;
  let warnings: string[];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-seed-'));
    const rootfs = path.join(dir, 'rootfs');
    await execa('bash', ['scripts/make-test-image', '--rootfs', rootfs], { cwd: REPO_ROOT });
    const base = path.join(dir, 'base.tar');
    await execa('tar', ['--numeric-owner', '--format=pax', '-C', rootfs, '-cf', base, '.']);
    const img = await buildImage({ layers: [await fs.readFile(base), DATA], compression: 'gzip', config: CONFIG });
    const layout = path.join(dir, 'layout');
    await writeOciLayout(layout, img, { tag: 'v1' });
    let source = `oci:${layout}:v1`;
    if (missing) {
      console.error(`# ${missing} is not installed: packing from the OCI layout instead of a registry`);
    } else {
      registry = await startRegistry(dir);
      source = await registry.push(layout, 'v1', 'golem/seeded:v1');
    }
    gvmi = path.join(dir, 'seeded.gvmi');
    warnings = (await pack({ source, output: gvmi, registry: { tlsVerify: false } })).warnings;
  });

  after(async () => {
    await registry?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('pack warns about the VOLUME with files, not about the empty one', () => {
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /^VOLUME \/data has 9 paths in the image/);
  });

  it('the first start copies them into the host folder with owners and modes; symlinks are not resolved', async () => {
    const rt = await spawnRuntime(gvmi, { cpuCores: 1, memGib: 0.5 });
    try {
      await rt.client.hello();
      const r = await rt.client.run('/bin/sh', [
        '-c',
        'cd /data && stat -c "%n %u:%g %a" . app.conf bin/tool ro ro/frozen empty && cat app.conf hard && ' +
          'readlink shadow && readlink up && echo from-guest > new && ls /golem/output | wc -l',
      ]);
      assert.equal(r.code, 0, r.stderr.toString());
      assert.equal(
        r.stdout.toString(),
        [
          '. 1234:5678 750',
          'app.conf 1234:5678 640',
          'bin/tool 1000:1000 4755',
          'ro 0:0 555',
          'ro/frozen 0:0 444',
          'empty 42:43 700',
          'answer=42',
          'answer=42',
          '/etc/shadow',
          '../../../../../etc',
          '0',
          '',
        ].join('\n'),
      );
      const host = await hostFolder(rt.workdir, '/data');
      const st = async (p: string) => fs.lstat(path.join(host, p));
      const conf = await st('app.conf');
      assert.equal(conf.mode & 0o7777, 0o640);
      assert.equal((await st('bin/tool')).mode & 0o7777, 0o4755);
      if (OWNERS_CHECKED) {
        assert.deepEqual([conf.uid, conf.gid], [1234, 5678], 'the host file has the image owner');
        assert.deepEqual([(await st('empty')).uid, (await st('empty')).gid], [42, 43]);
      }
      assert.equal((await st('hard')).ino, conf.ino, 'a hard link stays a hard link');
      assert.ok((await st('shadow')).isSymbolicLink());
      assert.equal(await fs.readlink(path.join(host, 'shadow')), '/etc/shadow');
      assert.equal(await fs.readlink(path.join(host, 'up')), '../../../../../etc');
      assert.equal(await fs.readFile(path.join(host, 'new'), 'utf8'), 'from-guest\n');
      assert.deepEqual(await fs.readdir(await hostFolder(rt.workdir, '/golem/output')), []);
      assert.equal((await rt.client.shutdown(10_000)).code, 0);
    } finally {
      await finish(rt);
    }
  });

  it('a host folder that already has files is left as it is', async () => {
    const rt = await spawnRuntime(gvmi, {
      cpuCores: 1,
      memGib: 0.5,
      beforeStart: async (workdir) =>
        fs.writeFile(path.join(await hostFolder(workdir, '/data'), 'provider.txt'), 'already here\n'),
    });
    try {
      await rt.client.hello();
      const r = await rt.client.run('/bin/ls', ['-A', '/data']);
      assert.equal(r.code, 0, r.stderr.toString());
      assert.equal(r.stdout.toString(), 'provider.txt\n');
      assert.equal((await rt.client.shutdown(10_000)).code, 0);
    } finally {
      await finish(rt);
    }
  });

  it('a volume too small for the content fails the boot with one clear error, and nothing is left', async () => {
    const { workdir, base } = await longWorkdir();
    try {
      const big = path.join(dir, 'big.gvmi');
      const img = await buildImage({
        layers: [
          await fs.readFile(path.join(dir, 'base.tar')),
          [...DATA, { path: 'data/big', content: 'x'.repeat(64 * 1024) }],
        ],
        compression: 'none',
        config: CONFIG,
      });
      await writeOciLayout(path.join(dir, 'big-layout'), img, { tag: 'v1' });
      await pack({ source: `oci:${path.join(dir, 'big-layout')}:v1`, output: big });
      const d = await deployTo(workdir, big, ['--volume-override', '{"/data":{"ram":{"size":"16 KiB"}}}']);
      await assert.rejects(Activity.boot({ deployment: d, workdir, log: silentLogger() }), (err: Error) => {
        assert.match(err.message, /cannot set up the guest filesystem/);
        assert.match(err.message, /seed \/data: .*No space left on device/);
        return true;
      });
      assert.deepEqual(await waitNoneAlive(workdir, 5000), []);
    } finally {
      await removeTestDir(base);
    }
  });
});
