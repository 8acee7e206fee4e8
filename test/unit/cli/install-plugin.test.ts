import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/paths.js';
import {
  DESCRIPTION,
  EXTRA_ARGS,
  defaultRuntimePath,
  installDescriptor,
  restoreDescriptor,
  userPluginsDir,
} from '../../../src/cli/install-plugin.js';
import { VERSION } from '../../../src/version.js';

const OFFICIAL = JSON.stringify([
  { name: 'vm', 'supervisor-path': 'exe-unit', 'runtime-path': 'ya-runtime-vm/ya-runtime-vm', description: 'vm' },
]);

describe('install-plugin', () => {
  it('agrees with runtime-descriptor.json on name, description and extra-args', async () => {
    const [d] = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'runtime-descriptor.json'), 'utf8')) as Record<
      string,
      unknown
    >[];
    assert.equal(d?.['name'], 'vm');
    assert.equal(d?.['description'], DESCRIPTION);
    assert.deepEqual(d?.['extra-args'], EXTRA_ARGS);
    assert.equal(d?.['version'], VERSION);
  });

  it("uses yagna's installer layout for --user and the package launcher when it says so", () => {
    assert.equal(userPluginsDir('/home/p'), '/home/p/.local/lib/yagna/plugins');
    assert.equal(
      defaultRuntimePath({ YA_RUNTIME_VM_LAUNCHER: '/usr/bin/ya-runtime-vm' }, '/x/bin/y'),
      '/usr/bin/ya-runtime-vm',
    );
    assert.equal(defaultRuntimePath({}, '/x/bin/y'), '/x/bin/y');
  });

  it('writes absolute paths, keeps the official descriptor as .orig, and restores it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugins-'));
    const file = path.join(dir, 'ya-runtime-vm.json');
    await fs.writeFile(file, OFFICIAL);
    await fs.writeFile(path.join(dir, 'exe-unit'), '#!/bin/sh\n', { mode: 0o755 });
    const r = await installDescriptor({ dir, runtimePath: '/usr/bin/ya-runtime-vm' });
    assert.equal(r.file, file);
    assert.equal(r.backup, file + '.orig');
    assert.equal(await fs.readFile(file + '.orig', 'utf8'), OFFICIAL);
    const [d] = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>[];
    assert.equal(d?.['name'], 'vm');
    assert.equal(d?.['supervisor-path'], path.join(dir, 'exe-unit'));
    assert.equal(d?.['runtime-path'], '/usr/bin/ya-runtime-vm');
    assert.ok(!r.warnings.some((w) => w.includes('exe-unit')), r.warnings.join('; '));
    // Again: nothing to do, and the backup is not overwritten with our own descriptor.
    const again = await installDescriptor({ dir, runtimePath: '/usr/bin/ya-runtime-vm' });
    assert.equal(again.unchanged, true);
    assert.equal(await fs.readFile(file + '.orig', 'utf8'), OFFICIAL);
    // Another ya-*.json claiming "vm" is reported.
    await fs.writeFile(path.join(dir, 'ya-other.json'), OFFICIAL);
    const warned = await installDescriptor({ dir, runtimePath: '/opt/yrvm' });
    assert.ok(warned.warnings.some((w) => w.includes('ya-other.json')));
    assert.equal(warned.backup, undefined);
    const back = await restoreDescriptor(dir);
    assert.equal(back.restored, true);
    assert.equal(await fs.readFile(file, 'utf8'), OFFICIAL);
    await assert.rejects(restoreDescriptor(dir), /not this runtime's/);
    await fs.rm(dir, { recursive: true });
  });

  it('warns when the exe-unit is not in the plugin folder yet, and creates the folder', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'plugins-'));
    const dir = path.join(root, '.local', 'lib', 'yagna', 'plugins');
    const r = await installDescriptor({ dir, runtimePath: process.execPath });
    assert.ok(r.warnings.some((w) => w.includes("yagna's exe-unit")));
    assert.deepEqual(await restoreDescriptor(dir), { file: r.file, restored: false, removed: true });
    await fs.rm(root, { recursive: true });
  });
});
