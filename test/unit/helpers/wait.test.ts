import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/wait.js';

test('waitFor resolves once the condition holds', async () => {
  let n = 0;
  await waitFor('three polls', () => ++n >= 3, { timeoutMs: 1000, intervalMs: 1 });
  assert.equal(n, 3);
});

test('waitFor rejects on its deadline, naming what it waited for and the detail', async () => {
  await assert.rejects(
    waitFor('nothing', async () => false, { timeoutMs: 30, intervalMs: 5, detail: () => 'still none' }),
    { message: 'timed out after 30 ms waiting for nothing: still none' },
  );
});
