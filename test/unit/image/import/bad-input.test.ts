/**
 * Bad images given to `pack` (through the CLI, as a user runs it): each gets one clear line on stderr naming what is
 * wrong, exit code 3, and no output file (nor a partial one) is left.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../../helpers/cli.js';
import { FIXTURE_CONFIG, FIXTURE_LAYERS } from '../../../helpers/import-fixture.js';
import {
  buildImage,
  layerTar,
  writeDockerSaveClassic,
  writeOciLayout,
  type BuiltImage,
} from '../../../helpers/oci-builder.js';

describe('pack refuses bad images with one line and leaves nothing', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-badimg-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const layout = async (name: string, img: BuiltImage): Promise<string> => {
    const d = path.join(dir, name);
    await writeOciLayout(d, img);
    return d;
  };
  const blobFile = (d: string, digest: string): string => path.join(d, 'blobs', 'sha256', digest.slice(7));

  const cases: [string, () => Promise<string>, RegExp][] = [
    [
      'not an image',
      async () => {
        const f = path.join(dir, 'notes.txt');
        await fs.writeFile(f, 'just some text, not a tar\n'.repeat(50));
        return f;
      },
      /notes\.txt is not an image: neither a folder, a tar/,
    ],
    ['a missing source', async () => path.join(dir, 'nope.tar'), /nope\.tar does not exist/],
    [
      'a truncated layer',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
        const l = img.layers[0]!;
        // Inside the body of etc/keep (header at 512, body at 1024).
        const cut = { ...l, tar: l.tar.subarray(0, 1030) };
        const f = path.join(dir, 'truncated.tar');
        await writeDockerSaveClassic(f, { ...img, layers: [cut, ...img.layers.slice(1)] });
        return f;
      },
      /layer 1 of 3 .*truncated inside/,
    ],
    [
      'a layer whose bytes do not match its digest',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
        const d = await layout('digest', img);
        const f = blobFile(d, img.layers[1]!.digest);
        const b = await fs.readFile(f);
        // A byte of a file's content: the tar stays valid, only the digest can tell.
        const at = b.indexOf('upper etc file');
        b[at] = 'U'.charCodeAt(0);
        await fs.writeFile(f, b);
        return d;
      },
      /layer 2 of 3 .*the blob's digest is sha256:[0-9a-f]{64}, not sha256:/,
    ],
    [
      'a manifest naming a missing blob',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
        const d = await layout('missing', img);
        await fs.rm(blobFile(d, img.layers[2]!.digest));
        return d;
      },
      /layer 3 \(blobs\/sha256\/[0-9a-f]{64}\) is missing/,
    ],
    [
      'an unknown layer media type',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
        const d = await layout('mediatype', img);
        const m = JSON.parse(img.manifest.bytes.toString()) as { layers: { mediaType: string }[] };
        m.layers[1]!.mediaType = 'application/x-not-a-layer';
        const bytes = Buffer.from(JSON.stringify(m));
        const { sha256 } = await import('../../../helpers/oci-builder.js');
        const digest = sha256(bytes);
        await fs.writeFile(blobFile(d, digest), bytes);
        await fs.writeFile(
          path.join(d, 'index.json'),
          JSON.stringify({
            schemaVersion: 2,
            manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: bytes.length }],
          }),
        );
        return d;
      },
      /layer 2 has unknown media type application\/x-not-a-layer/,
    ],
    [
      'a path escaping the root',
      async () => {
        const layers = [...FIXTURE_LAYERS, [{ path: '../../etc/cron.d/evil', content: '* * * * * root sh\n' }]];
        return layout('escape', await buildImage({ layers, config: FIXTURE_CONFIG }));
      },
      /"\.\.\/\.\.\/etc\/cron\.d\/evil" leaves the root filesystem/,
    ],
    [
      'a hard link escaping the root',
      async () => {
        const layers = [[{ path: 'x', type: 'hardlink' as const, linkname: '../../../etc/shadow' }]];
        return layout('escape-link', await buildImage({ layers }));
      },
      /"\.\.\/\.\.\/\.\.\/etc\/shadow" leaves the root filesystem/,
    ],
    [
      'a corrupt gzip layer',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG, compression: 'gzip' });
        const d = await layout('gzip', img);
        const f = blobFile(d, img.layers[0]!.digest);
        const b = await fs.readFile(f);
        await fs.writeFile(f, b.subarray(0, Math.floor(b.length / 2)));
        return d;
      },
      /layer 1 of 3 .*gzip: unexpected end of file/,
    ],
    [
      'a config whose layer digests do not match the layers',
      async () => {
        const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG });
        const f = path.join(dir, 'diffids.tar');
        await writeDockerSaveClassic(f, { ...img, layers: img.layers.slice(0, 2) });
        return f;
      },
      /the config lists 3 layer digests \(rootfs\.diff_ids\) for 2 layers/,
    ],
    [
      'another architecture only (read from the config)',
      async () => layout('arm64', await buildImage({ layers: FIXTURE_LAYERS, architecture: 'arm64' })),
      /the image is linux\/arm64; Golem providers run linux\/amd64 guests/,
    ],
    [
      'a plain tar that is not a layer (a GNU sparse member)',
      async () => {
        const f = path.join(dir, 'sparse.tar');
        const tar = await layerTar([{ path: 'a', content: 'x' }]);
        tar[156] = 'S'.charCodeAt(0); // typeflag: GNU sparse
        let sum = 0;
        tar.fill(0x20, 148, 156);
        for (let i = 0; i < 512; i++) sum += tar[i]!;
        tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
        await fs.writeFile(f, tar);
        return f;
      },
      /unsupported tar entry type "S"/,
    ],
  ];
  for (const [name, make, message] of cases) {
    it(name, async () => {
      const source = await make();
      const out = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.gvmi`);
      const r = await runCli(['pack', source, '-o', out]);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, '');
      // stderr is not a terminal here, so the JSON log comes first; the error is the one line after it.
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('{'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^ya-runtime-vm pack: /);
      assert.match(lines[0]!, message);
      const left = (await fs.readdir(dir)).filter((f) => f.startsWith(path.basename(out)));
      assert.deepEqual(left, [], 'no output and no partial file');
    });
  }
});
