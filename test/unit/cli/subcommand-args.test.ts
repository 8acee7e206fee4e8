import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deployArgs, startArgs, UsageError } from '../../../src/cli/globals.js';

// deploy and start split their arguments without commander (main.ts): the rules their commander definitions had.
test('deploy: operands pass, the first -- goes, an option before it is refused as unknown', () => {
  assert.deepEqual(deployArgs([]), []);
  assert.deepEqual(deployArgs(['--']), []);
  assert.deepEqual(deployArgs(['--', '--x']), ['--x']);
  assert.deepEqual(deployArgs(['a', 'b', '-']), ['a', 'b', '-']);
  for (const bad of [['--help'], ['a', '--x'], ['-h', '--']]) {
    assert.throws(
      () => deployArgs(bad),
      (e: unknown) => e instanceof UsageError && /unknown option '-/.test(e.message),
    );
  }
});

test('start: every token passes, unknown options included, less the first --', () => {
  assert.deepEqual(startArgs(['start-entrypoint']), ['start-entrypoint']);
  assert.deepEqual(startArgs(['--foo', 'x', 'start-entrypoint']), ['--foo', 'x', 'start-entrypoint']);
  assert.deepEqual(startArgs(['--', 'a', '--b']), ['a', '--b']);
  assert.deepEqual(startArgs(['a', '--help']), ['a', '--help']);
  assert.deepEqual(startArgs(['a', '--', 'b', '--']), ['a', 'b', '--']);
  assert.deepEqual(startArgs([]), []);
});
