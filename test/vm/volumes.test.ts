/**
 * Volumes and storage (issue 4): host folders via virtio-fs (and 9p), the root's writable layer on a disk image,
 * ram and storage mounts. Each test states which transport it used.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { bootTestVm, sh, type TestVm } from '../helpers/vm.js';
import type { Deployment } from '../../src/deployment/deployment.js';

function hostDir(d: Deployment, guestPath: string): string {
  const v = d.volumes.find((x) => x.guestPath === guestPath);
  if (!v || v.kind !== 'host') throw new Error(`no host volume at ${guestPath}`);
  return v.hostPath;
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

for (const transport of ['virtiofs', '9p'] as const) {
  describe(`host volumes over ${transport}`, () => {
    let vm: TestVm;
    let input: string;
    let output: string;
    before(async () => {
      vm = await bootTestVm({
        globals: [
          '--mem-gib',
          '0.5',
          '--storage-gib',
          '1',
          '--volume-override',
          '{"/golem/input/nested/deeper":{"host":{}}}',
        ],
        boot: { volumes: transport },
      });
      assert.equal(vm.activity.transport, transport, `transport used: ${vm.activity.transport}`);
      input = hostDir(vm.deployment, '/golem/input');
      output = hostDir(vm.deployment, '/golem/output');
    });
    after(async () => vm?.dispose());

    test('host → guest: big file, odd names, symlink, nested dir, equal sha256', async () => {
      const big = randomBytes(100 * 1024 * 1024);
      await fs.writeFile(path.join(input, 'big.bin'), big);
      await fs.writeFile(path.join(input, 'name with spaces ünïcødé ✓.txt'), 'odd name\n');
      await fs.mkdir(path.join(input, 'dir', 'sub'), { recursive: true });
      await fs.writeFile(path.join(input, 'dir', 'sub', 'f.txt'), 'nested\n');
      await fs.symlink('dir/sub/f.txt', path.join(input, 'link'));
      const r = await sh(
        vm.activity,
        'cd /golem/input && sha256sum big.bin && cat "name with spaces ünïcødé ✓.txt" dir/sub/f.txt link && readlink link',
      );
      assert.equal(r.code, 0, r.stderr.toString());
      assert.equal(r.stdout.toString(), `${sha(big)}  big.bin\nodd name\nnested\nnested\ndir/sub/f.txt\n`);
    });

    test('guest → host: files are on the host right after the exit event', async () => {
      const r = await sh(
        vm.activity,
        'cd /golem/output && head -c 10485760 /dev/urandom > data.bin && sha256sum data.bin > data.sha && mkdir -p a/b && echo deep > a/b/c.txt && echo ü > "ü ✓.txt" && ln -s a/b/c.txt l',
      );
      assert.equal(r.code, 0, r.stderr.toString());
      const data = await fs.readFile(path.join(output, 'data.bin'));
      assert.equal(`${sha(data)}  data.bin\n`, await fs.readFile(path.join(output, 'data.sha'), 'utf8'));
      assert.equal(await fs.readFile(path.join(output, 'a', 'b', 'c.txt'), 'utf8'), 'deep\n');
      assert.equal(await fs.readFile(path.join(output, 'ü ✓.txt'), 'utf8'), 'ü\n');
      assert.equal(await fs.readlink(path.join(output, 'l')), 'a/b/c.txt');
    });

    test('a volume nested in another volume is mounted at its own folder', async () => {
      const deeper = hostDir(vm.deployment, '/golem/input/nested/deeper');
      await fs.writeFile(path.join(deeper, 'inner.txt'), 'inner\n');
      assert.equal((await sh(vm.activity, 'cat /golem/input/nested/deeper/inner.txt')).stdout.toString(), 'inner\n');
    });

    test('symlinks and ../ names cannot reach outside the volume folder on the host', async () => {
      const secretDir = await fs.mkdtemp(path.join(path.dirname(vm.workdir), 'secret-'));
      await fs.writeFile(path.join(secretDir, 'secret.txt'), 'host secret\n');
      await fs.symlink(secretDir, path.join(input, 'escape'));
      const r = await sh(
        vm.activity,
        'cat /golem/input/escape/secret.txt; ln -s /etc /golem/output/etc-link; echo pwned > /golem/output/etc-link/owned-by-guest; cat /golem/input/../../../../secret.txt; echo done',
      );
      assert.ok(!r.stdout.toString().includes('host secret'), 'host file outside the volume was read');
      assert.equal(
        await fs.stat('/etc/owned-by-guest').then(
          () => true,
          () => false,
        ),
        false,
        'guest wrote into the host /etc',
      );
      assert.equal(await fs.readlink(path.join(output, 'etc-link')), '/etc', 'the symlink is only a link on the host');
      await fs.rm(secretDir, { recursive: true, force: true });
    });
  });
}

describe('storage', () => {
  test('the root filesystem writes to its disk: 2x guest RAM fits, exceeding --storage-gib gives ENOSPC', async () => {
    const vm = await bootTestVm({ globals: ['--mem-gib', '0.125', '--storage-gib', '0.375'] });
    try {
      const big = await sh(vm.activity, 'dd if=/dev/zero of=/root/big bs=1M count=256 2>&1 && sync && ls -l /root/big');
      assert.equal(big.code, 0, big.stdout.toString() + big.stderr.toString());
      const full = await sh(vm.activity, 'dd if=/dev/zero of=/root/more bs=1M count=256 2>&1');
      assert.notEqual(full.code, 0);
      assert.match(full.stdout.toString() + full.stderr.toString(), /No space left on device/);
      assert.equal(
        (await sh(vm.activity, 'rm /root/more && echo alive')).stdout.toString(),
        'alive\n',
        'the VM survives a full disk',
      );
    } finally {
      await vm.dispose();
    }
  });

  test('ram and storage mounts have the requested sizes; ram on / puts the root on tmpfs', async () => {
    const vm = await bootTestVm({
      globals: [
        '--mem-gib',
        '0.5',
        '--volume-override',
        '{"/scratch":{"ram":{"size":"64 MiB"}},"/data":{"storage":{"size":"256 MiB","errors":"remount-ro"}},"/":{"ram":{"size":"128 MiB"}}}',
      ],
    });
    try {
      const r = await sh(vm.activity, 'df -k /scratch /data / | tail -n +2');
      assert.equal(r.code, 0, r.stderr.toString());
      const rows = r.stdout
        .toString()
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/));
      const kb = (mount: string): number => Number(rows.find((x) => x[5] === mount)?.[1]);
      assert.equal(kb('/scratch'), 64 * 1024);
      assert.ok(kb('/data') > 200 * 1024 && kb('/data') <= 256 * 1024, `storage size ${kb('/data')} KiB`);
      const mounts = (await sh(vm.activity, 'cat /proc/mounts')).stdout.toString();
      assert.match(mounts, /\/data ext4 [^ ]*errors=remount-ro/);
      assert.match(mounts, /\/scratch tmpfs/);
    } finally {
      await vm.dispose();
    }
  });
});
