/**
 * pack's progress (src/image/progress.ts, src/cli/pack-progress.ts): a layered image reports flatten then squash,
 * each in bytes of the stored layers that never go back and end at their total with done; on a terminal the CLI
 * draws both bars and still prints the SHA3-224 and the link; through a pipe it draws nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pack } from '../../../../src/image/pack.js';
import type { PackProgressEvent } from '../../../../src/image/progress.js';
import { FIXTURE_CONFIG, FIXTURE_LAYERS } from '../../../helpers/import-fixture.js';
import { buildImage, writeOciLayout } from '../../../helpers/oci-builder.js';
import { runCli } from '../../../helpers/cli.js';
import { runCliOnTerminal } from '../../../helpers/terminal.js';

describe('pack progress', () => {
  let dir: string;
  let layout: string;
  let stored: number;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-progress-'));
    // A 3 MiB layer on top of the fixture, so that more than one event comes per phase (one per MiB read).
    const big = [{ path: 'opt/big.bin', content: Buffer.alloc(3 << 20, 7) }];
    const img = await buildImage({ layers: [...FIXTURE_LAYERS, big], config: FIXTURE_CONFIG, compression: 'none' });
    layout = path.join(dir, 'layout');
    await writeOciLayout(layout, img, { tag: 'v1' });
    stored = 0;
    const blobs = path.join(layout, 'blobs', 'sha256');
    const index = JSON.parse(await fs.readFile(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(await fs.readFile(path.join(blobs, index.manifests[0]!.digest.slice(7)), 'utf8')) as {
      layers: { size: number }[];
    };
    for (const l of manifest.layers) stored += l.size;
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reports flatten then squash, monotonic, ending at the layers’ stored size', async () => {
    const events: PackProgressEvent[] = [];
    await pack({ source: `oci:${layout}:v1`, output: path.join(dir, 'a.gvmi'), onProgress: (e) => events.push(e) });
    assert.deepEqual([...new Set(events.map((e) => e.phase))], ['flatten', 'squash']);
    for (const phase of ['flatten', 'squash'] as const) {
      const of = events.filter((e) => e.phase === phase);
      assert.ok(of.length >= 3, `${phase}: ${of.length} events`);
      for (let i = 1; i < of.length; i++) assert.ok(of[i]!.bytes >= of[i - 1]!.bytes, `${phase} never goes back`);
      const last = of[of.length - 1]!;
      assert.deepEqual(last, { phase, bytes: stored, total: stored, layer: 4, layers: 4, done: true });
      assert.ok(of.every((e) => e.total === stored && e.layer! >= 1 && e.layer! <= 4));
      assert.equal(of.filter((e) => e.done).length, 1);
    }
  });

  it('draws the bars on a terminal, and nothing through a pipe', async () => {
    const out = path.join(dir, 'tty.gvmi');
    const t = await runCliOnTerminal(['pack', `oci:${layout}:v1`, '-o', out]);
    assert.equal(t.code, 0, t.screen);
    assert.match(t.screen, /flatten \[[^\]]*\] 100% [0-9.]+ [kM]B of [0-9.]+ [kM]B {2}layer 4\/4/);
    assert.match(t.screen, /squash {2}\[[^\]]*\] 100% /);
    assert.match(t.screen, /sha3-224: [0-9a-f]{56}\n/);
    assert.match(t.screen, /link: hash:sha3:[0-9a-f]{56}:<url of tty\.gvmi>/);
    const piped = await runCli(['pack', `oci:${layout}:v1`, '-o', path.join(dir, 'pipe.gvmi')]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, '');
    assert.doesNotMatch(piped.stdout, /flatten|squash/);
  });
});
