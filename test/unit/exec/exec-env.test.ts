import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveUser } from '../../../src/image/user.js';
import { buildEnvironment, workingDirectory, DEFAULT_PATH } from '../../../src/exec/environment.js';

const passwd =
  'root:x:0:0:root:/root:/bin/sh\ngolem:x:1000:1001:Golem:/home/golem:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n';
const group = 'root:x:0:\ngolem:x:1001:\nstaff:x:50:\n';

const users: [string, { uid: number; gid: number; home: string }][] = [
  ['', { uid: 0, gid: 0, home: '/root' }],
  ['golem', { uid: 1000, gid: 1001, home: '/home/golem' }],
  ['1000', { uid: 1000, gid: 1001, home: '/home/golem' }],
  ['1000:50', { uid: 1000, gid: 50, home: '/home/golem' }],
  ['golem:staff', { uid: 1000, gid: 50, home: '/home/golem' }],
  ['4242', { uid: 4242, gid: 0, home: '/' }],
  ['4242:4242', { uid: 4242, gid: 4242, home: '/' }],
];
for (const [user, expected] of users) {
  test(`image User ${JSON.stringify(user)} resolves like Docker`, () =>
    assert.deepEqual(resolveUser(user, passwd, group), expected));
}

test('unknown user or group names are errors naming them', () => {
  assert.throws(() => resolveUser('alice', passwd, group), /no user "alice" in the image's \/etc\/passwd/);
  assert.throws(() => resolveUser('golem:wheel', passwd, group), /no group "wheel"/);
  assert.throws(() => resolveUser('alice', undefined, undefined), /no user "alice"/);
});

test('environment: image Env, defaults only when missing, request entries win', () => {
  assert.deepEqual(buildEnvironment(['A=1'], { hostname: 'h', home: '/root' }), [
    'A=1',
    `PATH=${DEFAULT_PATH}`,
    'HOSTNAME=h',
    'HOME=/root',
  ]);
  assert.deepEqual(
    buildEnvironment(['PATH=/bin', 'HOME=/x', 'A=1'], { hostname: 'h', home: '/root' }, ['A=2', 'B=3']),
    ['PATH=/bin', 'HOME=/x', 'A=2', 'HOSTNAME=h', 'B=3'],
  );
});

test('working directory: request, image WorkingDir, then /', () => {
  assert.equal(workingDirectory('/a', '/w'), '/a');
  assert.equal(workingDirectory(undefined, '/w'), '/w');
  assert.equal(workingDirectory('', ''), '/');
});
