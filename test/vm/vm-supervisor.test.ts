/**
 * The supervisor and disk helpers against real processes (no VM needed): setpriv exec's in place, SIGTERM then
 * SIGKILL, the log file, our process group, death with a SIGKILLed parent, and ext4 disk creation.
 */
import assert from 'node:assert/strict';
import { execa } from 'execa';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/log.js';
import { createExt4Disk } from '../../src/deployment/disks.js';
import { DiskError } from '../../src/deployment/errors.js';
import { pidAlive, spawnSupervised, waitPidsGone } from '../../src/vm/supervisor.js';
import { removeTestDir } from '../helpers/vm.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'vm-sup-'));
after(() => removeTestDir(tmp));

async function pgrp(pid: number | 'self'): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

describe('supervisor', () => {
  it('runs the program in place under setpriv, in our process group, logging to a file', async () => {
    const c = spawnSupervised(
      { name: 'echo-sleep', file: '/bin/sh', args: ['-c', 'echo hello; echo oops >&2; exec sleep 100'], logDir: tmp },
      silentLogger(),
    );
    await new Promise((r) => setTimeout(r, 300));
    const cmd = (await fs.readFile(`/proc/${c.pid}/cmdline`, 'utf8')).split('\0');
    assert.deepEqual(cmd.slice(0, 2), ['sleep', '100'], "setpriv exec'd the program with the same pid");
    assert.equal(await pgrp(c.pid), await pgrp('self'), 'same process group as ours');
    const status = await fs.readFile(`/proc/${c.pid}/status`, 'utf8');
    assert.ok(c.running());
    const end = await c.terminate(2000);
    assert.equal(end.signal, 'SIGTERM');
    assert.equal(end.code, null);
    assert.ok(!c.running());
    assert.equal(await fs.readFile(c.logPath, 'utf8'), 'hello\noops\n');
    assert.ok(status.length > 0);
  });

  it('SIGKILLs a child that ignores SIGTERM', async () => {
    const c = spawnSupervised(
      { name: 'stubborn', file: '/bin/sh', args: ['-c', 'trap "" TERM; exec sleep 100'], logDir: tmp },
      silentLogger(),
    );
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const end = await c.terminate(300);
    assert.equal(end.signal, 'SIGKILL');
    assert.ok(Date.now() - t0 < 3000);
    assert.ok(!pidAlive(c.pid));
  });

  it('reports the exit code', async () => {
    const c = spawnSupervised({ name: 'exit3', file: '/bin/sh', args: ['-c', 'exit 3'], logDir: tmp }, silentLogger());
    assert.deepEqual({ ...(await c.ended) }, { name: 'exit3', pid: c.pid, code: 3, signal: null });
    assert.equal(c.kill(), false);
  });

  it('a supervised child dies when its parent is SIGKILLed', async () => {
    const script = path.join(tmp, 'parent.mjs');
    const sup = path.resolve(HERE, '../../src/vm/supervisor.js');
    const logMod = path.resolve(HERE, '../../src/log.js');
    await fs.writeFile(
      script,
      `import { spawnSupervised } from ${JSON.stringify(sup)};
import { silentLogger } from ${JSON.stringify(logMod)};
const c = spawnSupervised({ name: 'orphan-candidate', file: '/bin/sleep', args: ['1000'], logDir: ${JSON.stringify(tmp)} }, silentLogger());
process.stdout.write(JSON.stringify({ pid: c.pid }) + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const parent = execa('node', [script], { reject: false, buffer: false });
    const line = await new Promise<string>((resolve) =>
      parent.stdout.once('data', (d: Buffer) => resolve(d.toString())),
    );
    const { pid } = JSON.parse(line) as { pid: number };
    // Right after the spawn the child may be between fork and exec, with no cmdline yet.
    for (let i = 0; i < 40 && !pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(pidAlive(pid));
    parent.kill('SIGKILL');
    await parent;
    const left = await waitPidsGone([pid], 5000);
    assert.deepEqual(left, [], 'the child outlived its SIGKILLed parent');
  });
});

describe('createExt4Disk', () => {
  it('makes a sparse ext4 image owned by root', async () => {
    const file = path.join(tmp, 'upper.img');
    await createExt4Disk(file, 64 * 1024 * 1024, { label: 'upper' });
    const st = await fs.stat(file);
    assert.equal(st.size, 64 * 1024 * 1024);
    assert.ok(st.blocks * 512 < st.size, 'sparse');
    // The 4 MiB journal of a 64 MiB ext4 is not written (lazy_journal_init): it reads as zeros from the holes.
    assert.ok(st.blocks * 512 < 2 * 1024 * 1024, `only metadata allocated, not the journal: ${st.blocks * 512} bytes`);
    const fh = await fs.open(file, 'r');
    const magic = Buffer.alloc(2);
    await fh.read(magic, 0, 2, 1024 + 0x38);
    await fh.close();
    assert.equal(magic.readUInt16LE(0), 0xef53, 'ext4 superblock magic');
    const r = await execa('debugfs', ['-R', 'stat /', file], { reject: false, all: true });
    if (r.exitCode === 0) assert.match(r.all ?? '', /User:\s+0\s+Group:\s+0/);
  });

  it('rejects sizes ext4 cannot hold and names the file', async () => {
    await assert.rejects(
      createExt4Disk(path.join(tmp, 'small.img'), 1024),
      (e: DiskError) => e.code === 'DISK_BAD_SIZE' && e.message.includes('small.img'),
    );
  });

  it('makes the sparse file itself (no qemu-img) and says why it could not', async () => {
    const dir = path.join(tmp, 'a-dir.img');
    await fs.mkdir(dir);
    await assert.rejects(
      createExt4Disk(dir, 8 * 1024 * 1024),
      (e: DiskError) => e.code === 'DISK_CREATE_FAILED' && /^cannot create .*a-dir\.img: EISDIR/.test(e.message),
    );
  });

  it('reports a tool failure with what it said (qemu-img, for a preallocated image)', async () => {
    const dir = path.join(tmp, 'a-directory.img');
    await fs.mkdir(dir);
    await assert.rejects(
      createExt4Disk(dir, 8 * 1024 * 1024, { preallocate: true }),
      (e: DiskError) =>
        e.code === 'DISK_CREATE_FAILED' &&
        /^cannot create .*a-directory\.img: qemu-img exited with code 1: /.test(e.message),
    );
  });
});
