import { test } from 'node:test';
import assert from 'node:assert/strict';
import { virtiofsdCouldNotStart } from '../../src/activity.js';
import { BootError } from '../../src/activity-errors.js';
import { VmStartError } from '../../src/vm/errors.js';

test('a virtiofsd that exits at start is recognised through the boot error wrapping it (the 9p fallback)', () => {
  const exited = new VmStartError('VIRTIOFSD_EXITED', 'virtiofsd for share vol0 exited with code 1');
  assert.equal(virtiofsdCouldNotStart(exited), true);
  assert.equal(virtiofsdCouldNotStart(new Error('boot failed', { cause: exited })), true);
  assert.equal(virtiofsdCouldNotStart(new VmStartError('QEMU_EXITED_EARLY', 'qemu died')), false);
  assert.equal(virtiofsdCouldNotStart(new BootError('BOOT_NO_HANDSHAKE', 'no HELLO')), false);
  assert.equal(virtiofsdCouldNotStart('not an error'), false);
});
