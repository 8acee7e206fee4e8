import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { describeGuestCrash, findGuestCrash } from '../../../src/vm/guest-crash.js';
import { REPO_ROOT } from '../../helpers/paths.js';

describe('guest crash detection in the console', () => {
  it('names the first line of a real oops (the splice crash in PID 1, console of a 6.1 guest)', () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, 'test', 'vectors', 'console', 'oops-splice-6.1.txt'), 'utf8');
    assert.equal(findGuestCrash(text), 'BUG: kernel NULL pointer dereference, address: 0000000000000000');
    assert.equal(
      describeGuestCrash(findGuestCrash(text)!),
      'guest kernel panic: BUG: kernel NULL pointer dereference, address: 0000000000000000',
    );
  });
  it('finds panics, oopses and protection faults, with or without a printk timestamp', () => {
    assert.equal(
      findGuestCrash('ok\nKernel panic - not syncing: Attempted to kill init! exitcode=0x00000009\n'),
      'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009',
    );
    assert.equal(
      findGuestCrash('[    1.234567] general protection fault, probably for non-canonical address\n'),
      'general protection fault, probably for non-canonical address',
    );
    assert.equal(findGuestCrash('kernel BUG at mm/slub.c:123!\n'), 'kernel BUG at mm/slub.c:123!');
    assert.equal(findGuestCrash('Oops: 0000 [#1] SMP\n'), 'Oops: 0000 [#1] SMP');
  });
  it('is quiet for a healthy console, warnings and lines that only mention the words', () => {
    assert.equal(findGuestCrash(''), undefined);
    assert.equal(findGuestCrash('ya-init: serving the host on port yagent\nya-init: shutdown requested\n'), undefined);
    assert.equal(findGuestCrash('WARNING: CPU: 0 PID: 1 at fs/splice.c:1 foo\n'), undefined);
    assert.equal(findGuestCrash('ya-init: exec /bin/BUG: No such file\n'), undefined);
  });
});
