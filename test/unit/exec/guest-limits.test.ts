import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultMemReserve, defaultPidsMax, guestLimits } from '../../../src/exec/guest-limits.js';

const MIB = 2 ** 20;

test('defaults scale with the guest memory, within their bounds', () => {
  assert.equal(defaultPidsMax(64 * MIB), 1024);
  assert.equal(defaultPidsMax(512 * MIB), 1024);
  assert.equal(defaultPidsMax(1024 * MIB), 2048);
  assert.equal(defaultPidsMax(16 * 1024 * MIB), 4096);
  assert.equal(defaultMemReserve(64 * MIB), 32 * MIB);
  assert.equal(defaultMemReserve(1024 * MIB), 64 * MIB);
  assert.equal(defaultMemReserve(8 * 1024 * MIB), 128 * MIB);
  assert.deepEqual(guestLimits(512 * MIB), { pidsMax: 1024, memReserveBytes: 32 * MIB, cpuWeight: 100 });
});

test("the operator's values win, 0 included", () => {
  assert.deepEqual(guestLimits(512 * MIB, { pidsMax: 0, memReserveBytes: 0, cpuWeight: 50 }), {
    pidsMax: 0,
    memReserveBytes: 0,
    cpuWeight: 50,
  });
});
