import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolPath } from '../../../src/deployment/disks.js';

test("the disk tools' PATH has the sbin folders a plain user's PATH lacks (mkfs.ext4)", () => {
  assert.equal(
    toolPath('/usr/local/bin:/usr/bin:/bin'),
    '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin',
  );
  assert.equal(toolPath('/opt/x:/usr/sbin'), '/opt/x:/usr/sbin:/usr/local/sbin:/sbin:/usr/bin:/bin');
  assert.equal(toolPath(undefined), '/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin');
});
