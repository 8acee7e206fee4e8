/**
 * docs/errors.md lists every error code src/ can throw. The codes are typed unions per concern (each errors.ts
 * exports its list); the source scan makes sure no throw goes around them (a bare `new RuntimeError(...)`, whose
 * code is any string) and that every code literal handed to an error class is in one of the lists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/paths.js';
import { ACTIVITY_ERROR_CODES, BOOT_ERROR_CODES } from '../../../src/activity-errors.js';
import { API_ERROR_CODES } from '../../../src/api/errors.js';
import { CLI_ERROR_CODES } from '../../../src/cli/errors.js';
import { CONTROL_ERROR_CODES } from '../../../src/control/errors.js';
import { DEPLOYMENT_ERROR_CODES, DISK_ERROR_CODES } from '../../../src/deployment/errors.js';
import { GUEST_ERROR_CODES } from '../../../src/guest/errors.js';
import {
  IMAGE_ERROR_CODES,
  IMAGE_TOOL_ERROR_CODES,
  PACK_ERROR_CODES,
  USER_ERROR_CODES,
} from '../../../src/image/errors.js';
import { NETWORK_ERROR_CODES } from '../../../src/network/errors.js';
import { TAR_ERROR_CODES } from '../../../src/image/tar/errors.js';
import { SOCKET_PATH_ERROR_CODES } from '../../../src/unix-socket-path.js';
import { VM_ERROR_CODES } from '../../../src/vm/errors.js';

const ALL: readonly string[] = [
  ...ACTIVITY_ERROR_CODES,
  ...BOOT_ERROR_CODES,
  ...API_ERROR_CODES,
  ...CLI_ERROR_CODES,
  ...CONTROL_ERROR_CODES,
  ...DEPLOYMENT_ERROR_CODES,
  ...DISK_ERROR_CODES,
  ...USER_ERROR_CODES,
  ...GUEST_ERROR_CODES,
  ...IMAGE_ERROR_CODES,
  ...IMAGE_TOOL_ERROR_CODES,
  ...PACK_ERROR_CODES,
  ...NETWORK_ERROR_CODES,
  ...TAR_ERROR_CODES,
  ...SOCKET_PATH_ERROR_CODES,
  ...VM_ERROR_CODES,
];

function sources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'generated') sources(p, out);
    else if (e.isFile() && e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('docs/errors.md lists every error code', () => {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
  const missing = ALL.filter((c) => !doc.includes('`' + c + '`'));
  assert.deepEqual(missing, [], `docs/errors.md does not list: ${missing.join(', ')}`);
});

test('no code is in two lists', () => {
  const seen = new Set<string>();
  const twice = ALL.filter((c) => seen.size === seen.add(c).size);
  assert.deepEqual(twice, []);
});

test('src/ throws only typed codes', () => {
  const bare: string[] = [];
  const untyped: string[] = [];
  const known = new Set(ALL);
  let found = 0;
  for (const file of sources(path.join(REPO_ROOT, 'src'))) {
    const rel = path.relative(REPO_ROOT, file);
    const text = fs.readFileSync(file, 'utf8');
    if (/new RuntimeError\(/.test(text)) bare.push(rel);
    // The first argument of an error constructor (or of a helper named fail), one literal or a ternary of two.
    for (const m of text.matchAll(/(?:new \w*Error|\bfail)\(\s*([^,()]*?'[A-Z][A-Z0-9_]+'[^,()]*),/g)) {
      for (const [, code] of m[1]!.matchAll(/'([A-Z][A-Z0-9_]+)'/g)) {
        found++;
        if (!known.has(code!)) untyped.push(`${rel}: ${code}`);
      }
    }
  }
  assert.ok(found > 50, `the scan found only ${found} throw sites: is its pattern still right?`);
  assert.deepEqual(bare, [], "use the concern's typed error class, not RuntimeError itself");
  assert.deepEqual(untyped, [], 'codes thrown but in no list');
});
