/**
 * The bounded slice of the C target (init/fuzz/proto_fuzz.c): a few seconds of libFuzzer on the real decoder,
 * which must not crash, and the planted bug (-DPROTO_FUZZ_PLANTED_BUG), which it must find within its bound.
 * Needs clang (scripts/setup installs it); `make -C init test` replays the kept crashes without it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clangAvailable, fuzzC } from './lib/engine.js';

test(
  'libFuzzer: 10 s on the guest decoder without a crash, the planted bug found within 60 s',
  { skip: !clangAvailable() && 'clang is not installed' },
  () => {
    const r = fuzzC({ seconds: 10, proofSeconds: 60 });
    assert.equal(r.crashes, 0, `crashes kept in ${r.crashFiles.join(', ')}`);
    assert.ok(r.execs > 1000, `only ${r.execs} executions`);
    assert.ok(r.proof.found, `the planted bug survived ${r.proof.execs} executions`);
  },
);
