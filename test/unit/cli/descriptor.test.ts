import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/paths.js';

test('runtime-descriptor.json is an array naming the vm runtime with --cap-handoff and an existing runtime-path', () => {
  const d: unknown = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'runtime-descriptor.json'), 'utf8'));
  assert.ok(Array.isArray(d));
  const [vm] = d as Record<string, unknown>[];
  assert.equal(vm?.['name'], 'vm');
  assert.match(String(vm?.['version']), /^\d+\.\d+\.\d+$/);
  assert.deepEqual(vm?.['extra-args'], ['--cap-handoff']);
  assert.ok(fs.existsSync(path.join(REPO_ROOT, String(vm?.['runtime-path']))));
});
