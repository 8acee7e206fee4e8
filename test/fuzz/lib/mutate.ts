/**
 * Input generators of the fuzz targets (fast-check arbitraries): byte strings mutated from seeds the way libFuzzer
 * mutates (flip, insert, delete, truncate, overwrite with an "interesting" u32 such as a huge length prefix), JSON
 * documents mutated in their structure (a leaf replaced by any JSON value, a key dropped or added), and the points a
 * byte stream is split at.
 */
import fc from 'fast-check';

/** Little-endian u32s that break length checks: 0, 1, lengths around the protocol limits, the top of the range. */
const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x100000, 0x100001, 0x7fffffff, 0xffffffff];

type Op = [kind: number, pos: number, value: number];

function applyOps(seed: Uint8Array, ops: readonly Op[]): Uint8Array {
  const b = Array.from(seed);
  for (const [kind, pos, value] of ops) {
    const i = b.length === 0 ? 0 : pos % (b.length + 1);
    switch (kind) {
      case 0: // overwrite one byte
        if (i < b.length) b[i] = value & 0xff;
        break;
      case 1: // insert one byte
        b.splice(i, 0, value & 0xff);
        break;
      case 2: // delete a run
        b.splice(i, 1 + (value % 8));
        break;
      case 3: // truncate
        b.length = Math.min(b.length, i);
        break;
      case 4: {
        // an interesting u32 (little-endian), e.g. over a length field
        const v = INTERESTING_U32[value % INTERESTING_U32.length]!;
        for (let k = 0; k < 4 && i + k < b.length; k++) b[i + k] = (v >>> (8 * k)) & 0xff;
        break;
      }
      case 5: // flip one bit
        if (i < b.length) b[i] = b[i]! ^ (1 << (value % 8));
        break;
      default: {
        // duplicate a run (repeated fields, a frame twice)
        const run = b.slice(i, i + 1 + (value % 32));
        b.splice(i, 0, ...run);
      }
    }
  }
  return Uint8Array.from(b);
}

const ops = (max: number): fc.Arbitrary<Op[]> =>
  fc.array(fc.tuple(fc.nat(6), fc.nat(), fc.nat(255)), { maxLength: max });

/** A seed with up to `max` mutations (none: the seed itself, as libFuzzer runs its corpus first). */
export function mutated(seeds: readonly Uint8Array[], max = 8): fc.Arbitrary<Uint8Array> {
  if (seeds.length === 0) throw new Error('mutated(): no seeds');
  return fc.tuple(fc.constantFrom(...seeds), ops(max)).map(([seed, o]) => applyOps(seed, o));
}

/** Mostly mutated seeds, sometimes bytes from nowhere. */
export function bytesFrom(seeds: readonly Uint8Array[], maxRandom = 256): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 4, arbitrary: mutated(seeds) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
  );
}

/** Several seeds (and mutants) back to back: a stream of frames. */
export function streamFrom(seeds: readonly Uint8Array[], maxFrames = 6): fc.Arbitrary<Uint8Array> {
  return fc.array(bytesFrom(seeds), { minLength: 1, maxLength: maxFrames }).map(concat);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts `bytes` at the given points (taken modulo its length): the chunks a stream delivers them in. */
export function splitAt(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => (bytes.length === 0 ? 0 : p % bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of cuts) {
    if (c > at) out.push(bytes.subarray(at, c));
    at = Math.max(at, c);
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

/** Split points: none, a few, or one at every byte. */
export const splits: fc.Arbitrary<number[] | 'every'> = fc.oneof(
  fc.array(fc.nat(), { maxLength: 8 }),
  fc.constant('every' as const),
);

export function chunksOf(bytes: Uint8Array, s: number[] | 'every'): Uint8Array[] {
  if (s === 'every') return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  return splitAt(bytes, s);
}

// ---- JSON ------------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Values that probe a schema's edges: negative, fractional, huge and non-number sizes, odd strings. */
const edgeValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(-1, 0, 1.5, 2 ** 53, 1e308, '', '/', '..', '1gi', '-1', 'x'.repeat(300), null, true, [], {}),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

type JsonOp = [kind: number, path: number, key: string, value: Json];

function leaves(v: Json, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(path);
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...path, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(x, [...path, k], out);
  return out;
}

function applyJson(doc: Json, ops: readonly JsonOp[]): Json {
  let root: Json = structuredClone(doc);
  for (const [kind, pick, key, value] of ops) {
    const all = leaves(root);
    const path = all[pick % all.length]!;
    if (path.length === 0) {
      if (kind === 0) root = value;
      continue;
    }
    let parent: Json = root;
    for (const p of path.slice(0, -1)) parent = (parent as Record<string, Json>)[p as string] as Json;
    const last = path[path.length - 1]!;
    const obj = parent as Record<string | number, Json>;
    if (kind === 0 || kind === 1) obj[last] = value;
    else if (kind === 2) {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete obj[last];
    } else if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) obj[key] = value;
  }
  return root;
}

/** A JSON document mutated in its structure, as text; sometimes also mutated as bytes. */
export function jsonFrom(seeds: readonly unknown[]): fc.Arbitrary<string> {
  const docs = seeds as Json[];
  const structural = fc
    .tuple(
      fc.constantFrom(...docs),
      fc.array(fc.tuple(fc.nat(3), fc.nat(), fc.string({ maxLength: 12 }), edgeValue), { maxLength: 4 }),
    )
    .map(([d, o]) => JSON.stringify(applyJson(d, o)));
  const bytes = mutated(docs.map((d) => new TextEncoder().encode(JSON.stringify(d)))).map((b) =>
    new TextDecoder().decode(b),
  );
  return fc.oneof({ weight: 3, arbitrary: structural }, { weight: 1, arbitrary: bytes }, fc.string());
}
