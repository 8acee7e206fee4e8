/** scripts/lib/cache-dir.sh, which the bash scripts source, picks the folder the runtime's defaultCacheDir does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { defaultCacheDir } from '../../../src/cache-dir.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const isRoot = process.getuid?.() === 0;

function shellCache(env: Record<string, string>): string {
  const lib = path.join(REPO_ROOT, 'scripts', 'lib', 'cache-dir.sh');
  return execFileSync('bash', ['-c', 'set -euo pipefail; . "$0"; printf %s "$CACHE"', lib], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
  });
}

test('cache-dir.sh: YA_RUNTIME_VM_CACHE wins', () => {
  const env = { HOME: '/home/u', YA_RUNTIME_VM_CACHE: '/srv/yrvm-cache' };
  assert.equal(shellCache(env), defaultCacheDir(env, isRoot, env.HOME));
});

test('cache-dir.sh: otherwise /var/cache as root, XDG_CACHE_HOME or ~/.cache else', () => {
  const env = { HOME: '/home/u', XDG_CACHE_HOME: '/home/u/xdg' };
  assert.equal(shellCache(env), defaultCacheDir(env, isRoot, env.HOME));
  assert.equal(shellCache({ HOME: '/home/u' }), defaultCacheDir({}, isRoot, '/home/u'));
});
