/**
 * Seeded randomness for tests, so that a failure found by a random case can be replayed: `seededRandom()` takes its
 * seed from TEST_SEED when set, else a fresh one, and `withSeed` puts the seed into the message of any failure
 * ("... (seed N: TEST_SEED=N replays it)").
 */

/** mulberry32, hand-written (a 32-bit state, good enough for test cases; not for anything else). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SeededRandom {
  seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
}

export function seededRandom(seed = envSeed() ?? (Date.now() ^ (process.pid << 16)) >>> 0): SeededRandom {
  const next = mulberry32(seed);
  return { seed, next, int: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

/** Runs `fn` with a seeded generator; a failure's message gains the seed. */
export async function withSeed(fn: (rnd: SeededRandom) => void | Promise<void>): Promise<void> {
  const rnd = seededRandom();
  try {
    await fn(rnd);
  } catch (err) {
    if (err instanceof Error) err.message += ` (seed ${rnd.seed}: TEST_SEED=${rnd.seed} replays it)`;
    throw err;
  }
}

function envSeed(): number | undefined {
  const s = process.env['TEST_SEED'];
  if (s === undefined || s === '') return undefined;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new Error(`TEST_SEED must be an integer, not ${JSON.stringify(s)}`);
  return n >>> 0;
}
