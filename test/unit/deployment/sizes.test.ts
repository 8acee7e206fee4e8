import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, gibToBytes } from '../../../src/deployment/sizes.js';
import { guestPathFault } from '../../../src/image/guest-path.js';

const good: [unknown, number][] = [
  [1073741824, 1073741824],
  ['1gi', 1024 ** 3],
  ['1GiB', 1024 ** 3],
  ['512 MiB', 512 * 1024 ** 2],
  ['10 g', 10e9],
  ['10.7 GB', 10.7e9],
  ['1.1 GB', 1.1e9],
  ['100k', 100e3],
  ['2048', 2048],
  ['64 b', 64],
  [' 3 TB ', 3e12],
];
for (const [input, bytes] of good) {
  test(`size ${JSON.stringify(input)} = ${bytes} bytes`, () => assert.equal(parseSize(input), bytes));
}
for (const bad of ['', 'gb', '-1', '1 xb', '1.2.3', 'ten', null, {}, -5, Number.NaN, '5i']) {
  test(`size ${JSON.stringify(bad)} is rejected`, () => assert.equal(parseSize(bad), undefined));
}

test('--mem-gib floats to bytes', () => {
  assert.equal(gibToBytes(0.5), 512 * 1024 ** 2);
  assert.equal(gibToBytes(8), 8 * 1024 ** 3);
});

test('guest paths must be absolute and normalized', () => {
  assert.equal(guestPathFault('/golem/input'), undefined);
  assert.equal(guestPathFault('/'), undefined);
  assert.match(guestPathFault('golem')!, /not absolute/);
  assert.match(guestPathFault('/a/../b')!, /"\.\."/);
  assert.match(guestPathFault('/a/./b')!, /"\.\."/);
  assert.match(guestPathFault('/a//b')!, /not normalized/);
  assert.match(guestPathFault('/a/')!, /not normalized/);
  assert.match(guestPathFault('/a\0b')!, /NUL/);
  assert.match(guestPathFault('')!, /empty/);
});

// Found by the volume-override fuzz target (test/fuzz/regressions/volume-override-*.json): a number past 2^53 was
// taken as a size, though the same size as a string was refused and deployment.json would refuse either.
test('a numeric size is bounded like a string one: at most 2^53 - 1 bytes', () => {
  assert.equal(parseSize(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  assert.equal(parseSize(2 ** 53), undefined);
  assert.equal(parseSize(1e308), undefined);
  assert.equal(parseSize(String(2 ** 53)), undefined);
});
