/**
 * The bounded slice of `npm run fuzz` that `npm test` runs: every TypeScript fuzz target for a fixed number of
 * inputs from a fixed seed (plus every kept crash of test/fuzz/regressions/, as examples), and every planted-bug
 * proof, which must fail within its bound. The full runs and the figures: `npm run fuzz`, docs/reliability.md.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzTs, proveTs, regressionsOf } from './lib/engine.js';
import { TARGETS } from './targets.js';
import { SERVICE_TARGETS } from './service-target.js';

const RUNS = 300;
const SERVICE_RUNS = 60;
const PROOF_SECONDS = 30;

for (const t of [...TARGETS, ...SERVICE_TARGETS]) {
  describe(`fuzz target ${t.id}`, () => {
    it(`holds for ${RUNS} inputs and the ${regressionsOf(t.id).length} kept crashes`, async () => {
      const runs = SERVICE_TARGETS.includes(t) ? SERVICE_RUNS : RUNS;
      const r = await fuzzTs(t, { runs, seed: 17, keep: false });
      assert.equal(r.failure, undefined, `${t.id}: ${r.failure}`);
      assert.ok(r.execs >= runs, `${t.id} ran ${r.execs} inputs`);
    });
    it(`finds its planted bug (${t.mutant.what}) within ${PROOF_SECONDS} s`, async () => {
      const p = await proveTs(t, { seconds: PROOF_SECONDS, seed: 17 });
      assert.ok(p.found, `${t.id}: the mutant survived ${p.execs} inputs`);
    });
  });
}
