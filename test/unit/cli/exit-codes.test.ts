import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICE_EXIT } from '../../../src/api/service.js';
import { EXIT, RUN_EXIT, START_EXIT } from '../../../src/cli/exit-codes.js';

test('start in service mode exits with the codes of the one table', () => {
  assert.deepEqual(
    { ok: SERVICE_EXIT.ok, cleanupFailed: SERVICE_EXIT.cleanupFailed, streamBroken: SERVICE_EXIT.streamBroken },
    { ok: START_EXIT.OK, cleanupFailed: START_EXIT.CLEANUP_FAILED, streamBroken: START_EXIT.STREAM_BROKEN },
  );
  assert.deepEqual(
    Object.keys(SERVICE_EXIT).sort(),
    ['cleanupFailed', 'ok', 'streamBroken'],
    'a new service exit code goes into START_EXIT',
  );
});

test('the exit codes are those docs/errors.md documents', () => {
  assert.deepEqual(EXIT, { OK: 0, INTERNAL: 1, USAGE: 2, IMAGE: 3, DEPLOYMENT: 4, VM: 5 });
  assert.deepEqual(START_EXIT, { OK: 0, CLEANUP_FAILED: 1, STREAM_BROKEN: 2, BOOT_CANCELLED: 130 });
  assert.deepEqual(RUN_EXIT, { NOT_EXECUTABLE: 126, NOT_FOUND: 127 });
});
