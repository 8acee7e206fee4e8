/**
 * An imported image boots: the busybox test root filesystem (scripts/make-test-image --rootfs), tarred with GNU tar
 * as layer 1, with two small layers on top (a whited-out applet symlink, a hard link whose target a later layer
 * deletes, a new file), saved as a Docker 25+ `docker save` archive with gzip layers, packed, deployed and started
 * in service mode as the ExeUnit does; commands show the layers' changes and the image config's Env and WorkingDir.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { pack } from '../../src/image/pack.js';
import { buildImage, writeDockerSave25, type FixtureEntry } from '../helpers/oci-builder.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { finish, spawnRuntime } from '../helpers/service-runtime.js';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-import-boot-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const LAYER2: FixtureEntry[] = [
  { path: 'bin/.wh.vi' },
  { path: 'opt/data', type: 'directory' },
  { path: 'opt/data/target', content: 'kept by the hard link\n' },
  { path: 'opt/data/link', type: 'hardlink', linkname: 'opt/data/target' },
];
const LAYER3: FixtureEntry[] = [{ path: 'opt/data/.wh.target' }, { path: 'etc/imported', content: 'from layer 3\n' }];
const CONFIG = {
  Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'IMPORTED=from-the-config'],
  WorkingDir: '/opt/data',
  Cmd: ['/bin/sh'],
};

test('a docker save archive (busybox + 2 layers, gzip) packs, boots and shows every layer', async () => {
  const rootfs = path.join(dir, 'rootfs');
  await execa('bash', ['scripts/make-test-image', '--rootfs', rootfs], { cwd: REPO_ROOT });
  await fs.access(path.join(rootfs, 'bin/vi'));
  const tarFile = path.join(dir, 'layer1.tar');
  await execa('tar', ['--numeric-owner', '--xattrs', '--format=pax', '-C', rootfs, '-cf', tarFile, '.']);
  const img = await buildImage({
    layers: [await fs.readFile(tarFile), LAYER2, LAYER3],
    compression: 'gzip',
    config: CONFIG,
  });
  const archive = path.join(dir, 'image.tar');
  await writeDockerSave25(archive, img);
  const gvmi = path.join(dir, 'imported.gvmi');
  const res = await pack({ source: `docker-archive:${archive}`, output: gvmi });
  assert.deepEqual(res.warnings, []);

  const rt = await spawnRuntime(gvmi);
  try {
    assert.equal(await rt.client.hello(), '0.1.0');
    const r = await rt.client.run('/bin/sh', [
      '-c',
      'pwd; echo "$IMPORTED"; cat link; ls; cat /etc/imported; ' +
        'if [ -e /bin/vi ] || [ -L /bin/vi ]; then echo vi-present; else echo vi-gone; fi; ' +
        '[ -L /bin/ls ] && echo ls-still-a-link',
    ]);
    assert.equal(r.code, 0, r.stderr.toString());
    assert.equal(
      r.stdout.toString(),
      [
        '/opt/data',
        'from-the-config',
        'kept by the hard link',
        'link',
        'from layer 3',
        'vi-gone',
        'ls-still-a-link',
        '',
      ].join('\n'),
    );
    assert.equal((await rt.client.shutdown(10_000)).code, 0);
  } finally {
    await finish(rt);
  }
});
