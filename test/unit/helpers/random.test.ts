import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, seededRandom, withSeed } from '../../helpers/random.js';

test('mulberry32 is deterministic per seed and stays in [0, 1)', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, mulberry32(43)));
  const r = seededRandom(7);
  assert.ok(Array.from({ length: 1000 }, () => r.int(1, 3)).every((n) => n >= 1 && n <= 3));
});

test('withSeed names the seed in a failure; TEST_SEED replays it', async () => {
  let seed = 0;
  await assert.rejects(
    withSeed((rnd) => {
      seed = rnd.seed;
      assert.fail('boom');
    }),
    (err: unknown) => err instanceof Error && err.message === `boom (seed ${seed}: TEST_SEED=${seed} replays it)`,
  );
  const saved = process.env['TEST_SEED'];
  process.env['TEST_SEED'] = '12345';
  try {
    assert.equal(seededRandom().seed, 12345);
    assert.equal(seededRandom().next(), mulberry32(12345)());
  } finally {
    if (saved === undefined) delete process.env['TEST_SEED'];
    else process.env['TEST_SEED'] = saved;
  }
});
