/**
 * `pack docker://…` (docs/image-import.md, "Sources") against a real registry: Debian's docker-registry, started by
 * the test on loopback, an image pushed into it by skopeo. Packed with --reproducible, the image fetched from the
 * registry is byte for byte the image packed from the layout it was pushed from. Skipped with the reason when
 * docker-registry or skopeo is not installed. No VM is booted; it sits under test/vm for its run time.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { missingRegistryTool, startRegistry, type LocalRegistry } from '../helpers/registry.js';
import { pack } from '../../src/image/pack.js';
import type { PackProgressEvent } from '../../src/image/progress.js';
import { FIXTURE_CONFIG, FIXTURE_LAYERS } from '../helpers/import-fixture.js';
import { buildImage, writeOciLayout } from '../helpers/oci-builder.js';

const missing = missingRegistryTool;

async function packTemps(): Promise<string[]> {
  return (await fs.readdir(os.tmpdir())).filter((f) => f.startsWith('ya-pack-'));
}
let tmpLeft: string[] = [];

describe('pack docker:// from a local registry', { skip: missing ? `needs ${missing}` : false }, () => {
  let dir: string;
  let registry: LocalRegistry | undefined;
  let ref: string;
  let layout: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-registry-'));
    tmpLeft = await packTemps();
    registry = await startRegistry(dir);
    const img = await buildImage({ layers: FIXTURE_LAYERS, config: FIXTURE_CONFIG, compression: 'gzip' });
    layout = path.join(dir, 'layout');
    await writeOciLayout(layout, img, { tag: 'v1' });
    ref = await registry.push(layout, 'v1', 'golem/fixture:v1');
  });

  after(async () => {
    await registry?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('gives the same .gvmi as packing the layout directly, with --reproducible', async () => {
    const fetched: PackProgressEvent[] = [];
    const a = await pack({
      source: ref,
      output: path.join(dir, 'from-registry.gvmi'),
      reproducible: true,
      registry: { tlsVerify: false },
      onProgress: (e) => void (e.phase === 'fetch' && fetched.push(e)),
    });
    const last = fetched[fetched.length - 1];
    assert.ok(last?.done && last.bytes > 0, `the fetch reports its bytes and ends: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 1100)); // a second later: the times must not leak in
    const b = await pack({
      source: `oci:${layout}:v1`,
      output: path.join(dir, 'from-layout.gvmi'),
      reproducible: true,
    });
    assert.equal(a.sha3, b.sha3);
    const before = new Set(tmpLeft);
    assert.deepEqual(
      (await packTemps()).filter((f) => !before.has(f)),
      [],
      'the temporary layout is removed',
    );
  });

  it('a registry that is not there is one clear error, and nothing is left', async () => {
    const out = path.join(dir, 'never.gvmi');
    await assert.rejects(
      pack({ source: 'docker://127.0.0.1:1/nothing:here', output: out, registry: { tlsVerify: false } }),
      (err: unknown) =>
        (err as { code?: string }).code === 'PACK_FETCH_FAILED' &&
        /^pack: cannot fetch docker:\/\/127\.0\.0\.1:1\/nothing:here: /.test((err as Error).message),
    );
    await assert.rejects(fs.stat(out));
  });
});
