/**
 * pack from every source format (docs/image-import.md): the layered fixture (test/helpers/import-fixture.ts) as an
 * OCI layout (plain, gzip, zstd; a nested index with an arm64 image and an attestation), an OCI archive, and
 * `docker save` archives (classic and Docker 25+). Each result is listed with unsquashfs and must be the fixture's
 * tree exactly; the metadata comes from the image config with the flags over it. Real tools: sqfstar, unsquashfs,
 * zstd, GNU tar.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pack } from '../../../../src/image/pack.js';
import { CAP, FIXTURE_CONFIG, FIXTURE_LAYERS, FIXTURE_TREE } from '../../../helpers/import-fixture.js';
import {
  buildImage,
  writeDockerSave25,
  writeDockerSaveClassic,
  writeOciArchive,
  writeOciLayout,
  type Compression,
} from '../../../helpers/oci-builder.js';
import { catSquashfs, listSquashfs, xattrsInSquashfs, type ListedNode } from '../../../helpers/squashfs-listing.js';

function show(n: ListedNode): string {
  const owner = `${n.uid}:${n.gid}`;
  const size = n.type === 'd' ? '' : ` ${n.size}`;
  return `${n.type} ${n.mode.toString(8)} ${owner}${size}${n.link ? ` -> ${n.link}` : ''}`;
}

export async function gvmiMetadata(file: string): Promise<Record<string, unknown>> {
  const b = await fs.readFile(file);
  const len = Number(b.subarray(b.length - 8).toString('latin1'));
  return JSON.parse(b.subarray(b.length - 8 - len, b.length - 8).toString('utf8')) as Record<string, unknown>;
}

async function checkTree(gvmi: string): Promise<void> {
  const tree = await listSquashfs(gvmi);
  assert.deepEqual(Object.fromEntries([...tree].map(([p, n]) => [p, show(n)])), FIXTURE_TREE);
  for (const link of ['lib/link', 'lib/link2']) assert.equal((await catSquashfs(gvmi, link)).toString(), 'T1');
  const xattrs = await xattrsInSquashfs(gvmi, 'usr/bin/ping');
  if (xattrs) {
    assert.deepEqual(xattrs.get('security.capability'), CAP, 'binary xattr kept byte-exact');
    assert.deepEqual(xattrs.get('user.note'), Buffer.from('text'));
  }
}

describe('pack: every source format flattens the fixture to the same tree', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-import-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const sources: [string, (c: Compression) => Promise<string>][] = [
    [
      'oci:DIR (plain layers)',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
        await writeOciLayout(path.join(dir, 'oci-plain'), img);
        return `oci:${path.join(dir, 'oci-plain')}`;
      },
    ],
    [
      'oci:DIR:TAG, gzip layers behind a nested index with arm64 and an attestation',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG, compression: 'gzip' });
        await writeOciLayout(path.join(dir, 'oci-nested'), img, { tag: 'v1', nested: true });
        return `oci:${path.join(dir, 'oci-nested')}:v1`;
      },
    ],
    [
      'an OCI layout folder with zstd layers (sniffed)',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG, compression: 'zstd' });
        await writeOciLayout(path.join(dir, 'oci-zstd'), img);
        return path.join(dir, 'oci-zstd');
      },
    ],
    [
      'oci-archive:FILE, gzip',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG, compression: 'gzip' });
        await writeOciArchive(path.join(dir, 'oci.tar'), img, { tag: 'v1', nested: true });
        return `oci-archive:${path.join(dir, 'oci.tar')}:v1`;
      },
    ],
    [
      'docker save, classic (sniffed)',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
        await writeDockerSaveClassic(path.join(dir, 'classic.tar'), img);
        return path.join(dir, 'classic.tar');
      },
    ],
    [
      'docker save, Docker 25+ (OCI layout inside, gzip, nested index)',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG, compression: 'gzip' });
        await writeDockerSave25(path.join(dir, 'd25.tar'), img, { nested: true });
        return `docker-archive:${path.join(dir, 'd25.tar')}`;
      },
    ],
  ];
  for (const [name, make] of sources) {
    it(name, async () => {
      const source = await make('none');
      const out = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.gvmi`);
      const res = await pack({ source, output: out });
      assert.deepEqual(res.warnings, []);
      await checkTree(out);
      assert.deepEqual(await gvmiMetadata(out), {
        Env: FIXTURE_CONFIG.Env,
        Cmd: FIXTURE_CONFIG.Cmd,
        WorkingDir: '/data',
        Volumes: { '/data': {} },
        Labels: FIXTURE_CONFIG.Labels,
        ExposedPorts: FIXTURE_CONFIG.ExposedPorts,
        // The name, resolved in the image's own (upper) /etc/passwd.
        User: '1000:1001',
      });
    });
  }

  it('a VOLUME with files in the image is warned about and recorded, for layers and for a folder', async () => {
    const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
    await writeOciLayout(path.join(dir, 'oci-vol'), img);
    const folder = path.join(dir, 'vol-folder');
    await fs.mkdir(path.join(folder, 'etc'), { recursive: true });
    await fs.writeFile(path.join(folder, 'etc', 'a'), 'a');
    await fs.writeFile(path.join(folder, 'etc', 'b'), 'b');
    // /data is a volume of the image too, but its files were whited out: nothing to say about it.
    const layered = await pack({
      source: path.join(dir, 'oci-vol'),
      output: path.join(dir, 'vol1.gvmi'),
      volumes: ['/etc'],
    });
    assert.deepEqual(layered.warnings, [
      "VOLUME /etc has 3 paths in the image: at run time the volume's (empty) host folder is mounted over them and hides them",
    ]);
    assert.deepEqual((await gvmiMetadata(path.join(dir, 'vol1.gvmi')))['VolumesWithContent'], ['/etc']);
    const plain = await pack({ source: folder, output: path.join(dir, 'vol2.gvmi'), volumes: ['/etc', '/empty'] });
    assert.equal(plain.warnings.length, 1);
    assert.match(plain.warnings[0]!, /^VOLUME \/etc has 2 paths in the image/);
    assert.deepEqual((await gvmiMetadata(path.join(dir, 'vol2.gvmi')))['VolumesWithContent'], ['/etc']);
  });

  it('--reproducible: the same input gives the same bytes, a second later too, for layers and for a folder', async () => {
    const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
    await writeOciLayout(path.join(dir, 'oci-repro'), img);
    const folder = path.join(dir, 'repro-folder');
    await fs.mkdir(path.join(folder, 'etc'), { recursive: true });
    await fs.writeFile(path.join(folder, 'etc', 'hello'), 'hi\n');
    for (const source of [path.join(dir, 'oci-repro'), folder]) {
      const once = async (n: number, reproducible: boolean): Promise<string> =>
        (await pack({ source, output: path.join(dir, `repro-${n}.gvmi`), reproducible })).sha3;
      const a = await once(1, true);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await once(2, true), a, source);
      assert.notEqual(await once(3, false), a, 'without the flag the times differ');
    }
  });

  it('flags go over the image config: --env sets K, --volume adds, the others replace', async () => {
    const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
    await writeOciLayout(path.join(dir, 'oci-flags'), img);
    const out = path.join(dir, 'flags.gvmi');
    const res = await pack({
      source: path.join(dir, 'oci-flags'),
      output: out,
      env: ['MODE=flag', 'EXTRA=1'],
      volumes: ['/out'],
      cmd: ['/bin/true'],
      entrypoint: ['/usr/bin/tool', '-v'],
      workdir: '/',
      user: '0',
      compression: 'zstd',
    });
    assert.equal(res.warnings.length, 1);
    assert.match(res.warnings[0]!, /zstd/);
    const meta = await gvmiMetadata(out);
    assert.deepEqual(meta['Env'], ['PATH=/usr/bin:/bin', 'MODE=flag', 'EXTRA=1']);
    assert.deepEqual(meta['Volumes'], { '/data': {}, '/out': {} });
    assert.deepEqual(
      [meta['Cmd'], meta['Entrypoint'], meta['WorkingDir'], meta['User']],
      [['/bin/true'], ['/usr/bin/tool', '-v'], '/', '0:0'],
    );
  });
});
