import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecFailedError } from '../../../src/activity-errors.js';
import { startFailureExit } from '../../../src/cli/run.js';
import { ControlErrorCodes } from '../../../src/control/protocol.js';
import { ControlRequestError } from '../../../src/control/errors.js';
import { RuntimeError } from '../../../src/errors.js';

test('run: 127 and 126 come from the typed startFailure, never from the message', () => {
  assert.equal(startFailureExit(new ExecFailedError('not-found', 'x: cannot be executed')), 127);
  assert.equal(startFailureExit(new ExecFailedError('not-executable', 'x: not found')), 126);
  const remote = (f?: 'not-found' | 'not-executable'): ControlRequestError =>
    new ControlRequestError('run', ControlErrorCodes.NotFound, 'x: not found', 'not-found', f);
  assert.equal(startFailureExit(remote('not-found')), 127);
  assert.equal(startFailureExit(remote('not-executable')), 126);
  // Anything else is not a start failure: run reports it as an error (exit-codes.ts), whatever its message says.
  assert.equal(startFailureExit(remote()), undefined);
  assert.equal(startFailureExit(new RuntimeError('NO_SUCH_PROCESS', 'not found', { reply: 'not-found' })), undefined);
  assert.equal(startFailureExit(new Error('not found')), undefined);
});
