import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeEarlyExit, describeEnd, VmStartError } from '../../../src/vm/errors.js';
import { RuntimeError } from '../../../src/errors.js';
import { lastLines } from '../../../src/vm/files.js';

describe('vm errors', () => {
  it('describes an end from facts, most specific first', () => {
    assert.equal(describeEnd({ code: 1, signal: null }), 'exited with code 1');
    assert.equal(describeEnd({ code: null, signal: 'SIGKILL' }), 'was killed by SIGKILL');
    assert.equal(
      describeEnd({ code: null, signal: null, error: new Error('spawn ENOENT') }),
      'could not be started: spawn ENOENT',
    );
  });
  it('builds the early-exit message', () => {
    assert.equal(
      describeEarlyExit('QEMU', { code: 1, signal: null }, 'before the guest connected', {
        stderrLine: "qemu: could not open kernel file '/k'",
        consoleLine: 'Kernel panic',
      }),
      "QEMU exited with code 1 before the guest connected; QEMU said: qemu: could not open kernel file '/k'; last console line: Kernel panic",
    );
    assert.equal(
      describeEarlyExit('QEMU', { code: 0, signal: null }, 'early'),
      'QEMU exited with code 0 early; the console is empty',
    );
  });
  it('errors are RuntimeErrors with a code', () => {
    const e = new VmStartError('QEMU_EXITED_EARLY', 'x');
    assert.ok(e instanceof RuntimeError);
    assert.equal(e.name, 'VmStartError');
    assert.equal(e.code, 'QEMU_EXITED_EARLY');
  });
  it('lastLines drops blank lines and control characters', () => {
    assert.deepEqual(lastLines('a\r\n\nb\x1b[0m\n\n', 2), ['a', 'b[0m']);
    assert.deepEqual(lastLines('', 3), []);
  });
});
