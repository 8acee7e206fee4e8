import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  BASE_KERNEL_CMDLINE,
  buildKernelCmdline,
  buildQemuArgs,
  memMiB,
  optValue,
  ROOTFS_SERIAL,
  type VmConfig,
} from '../../../src/vm/qemu-args.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const base: VmConfig = {
  accel: 'tcg',
  cpus: 2,
  memBytes: 512 * 1024 * 1024,
  kernelPath: '/k/bzImage',
  initrdPath: '/k/initramfs.img',
  consoleLogPath: '/w/logs/console.log',
  agentSocketPath: '/run/x/r/agent.sock',
  disks: [
    { path: '/w/image.gvmi', serial: ROOTFS_SERIAL, readOnly: true },
    { path: '/w/upper,1.img', serial: 'upper-0', readOnly: false },
  ],
  virtiofs: [{ tag: 'vol0', socketPath: '/run/x/r/vfs0.sock' }],
  ninep: [{ tag: 'nine', hostPath: '/w/vol-9' }],
};

/** The value after each occurrence of `flag`. */
function values(argv: string[], flag: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === flag) out.push(argv[i + 1] ?? '');
  });
  return out;
}

describe('buildQemuArgs', () => {
  const argv = buildQemuArgs(base);

  it('uses microvm without ACPI, with RTC and the memfd backend', () => {
    assert.deepEqual(values(argv, '-M'), ['microvm,acpi=off,rtc=on,memory-backend=mem']);
    assert.deepEqual(values(argv, '-object'), ['memory-backend-memfd,id=mem,size=512M,share=on']);
    assert.deepEqual(values(argv, '-m'), ['512M']);
  });

  it('picks the CPU model from the accelerator', () => {
    assert.deepEqual(values(argv, '-accel'), ['tcg']);
    assert.deepEqual(values(argv, '-cpu'), ['max']);
    const kvm = buildQemuArgs({ ...base, accel: 'kvm' });
    assert.deepEqual(values(kvm, '-accel'), ['kvm']);
    assert.deepEqual(values(kvm, '-cpu'), ['host']);
    assert.deepEqual(values(argv, '-smp'), ['2']);
  });

  it('has no defaults, no reboot, a seccomp sandbox', () => {
    for (const f of ['-nodefaults', '-no-user-config', '-nographic', '-no-reboot']) assert.ok(argv.includes(f), f);
    assert.deepEqual(values(argv, '-sandbox'), [
      'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    ]);
  });

  it('boots the kernel and initramfs with our command line, console to the log file', () => {
    assert.deepEqual(values(argv, '-kernel'), ['/k/bzImage']);
    assert.deepEqual(values(argv, '-initrd'), ['/k/initramfs.img']);
    assert.deepEqual(values(argv, '-append'), ['console=ttyS0 reboot=t panic=-1 cryptomgr.notests quiet']);
    assert.deepEqual(values(argv, '-serial'), ['file:/w/logs/console.log']);
    assert.deepEqual(values(argv, '-global'), ['virtio-mmio.force-legacy=false']);
  });

  it('omits -initrd when booting the kernel alone, and discards the console when no log is given', () => {
    const { initrdPath: _i, consoleLogPath: _c, ...rest } = base;
    const a = buildQemuArgs(rest);
    assert.ok(!a.includes('-initrd'));
    assert.deepEqual(values(a, '-serial'), ['null']);
  });

  it('attaches disks read-only or not, by serial, escaping commas', () => {
    assert.deepEqual(values(argv, '-drive'), [
      'id=disk0,file=/w/image.gvmi,format=raw,if=none,werror=report,rerror=report,readonly=on',
      'id=disk1,file=/w/upper,,1.img,format=raw,if=none,werror=report,rerror=report',
    ]);
    const devs = values(argv, '-device');
    assert.ok(devs.includes('virtio-blk-device,drive=disk0,serial=rootfs-0'));
    assert.ok(devs.includes('virtio-blk-device,drive=disk1,serial=upper-0'));
    assert.throws(
      () => buildQemuArgs({ ...base, disks: [{ path: '/x', serial: 'x'.repeat(21), readOnly: true }] }),
      /20 bytes/,
    );
  });

  it('has the agent port named yagent on a listening socket', () => {
    const devs = values(argv, '-device');
    assert.ok(devs.includes('virtio-serial-device,id=vser0'));
    assert.ok(devs.includes('virtserialport,bus=vser0.0,chardev=agent,name=yagent'));
    assert.ok(values(argv, '-chardev').includes('socket,id=agent,path=/run/x/r/agent.sock,server=on,wait=off'));
  });

  it('has virtio-fs through vhost-user-fs-device and 9p through virtio-9p-device', () => {
    assert.ok(values(argv, '-chardev').includes('socket,id=vfs0,path=/run/x/r/vfs0.sock'));
    assert.ok(values(argv, '-device').includes('vhost-user-fs-device,chardev=vfs0,tag=vol0'));
    assert.deepEqual(values(argv, '-fsdev'), ['local,id=fs0,path=/w/vol-9,security_model=none']);
    assert.ok(values(argv, '-device').includes('virtio-9p-device,fsdev=fs0,mount_tag=nine'));
  });

  it('has no NIC unless asked; NICs in order, a dgram netdev on an inherited descriptor or a stream', () => {
    assert.deepEqual(values(argv, '-netdev'), []);
    const withNics = buildQemuArgs({
      ...base,
      nics: [
        { id: 'vpn', mac: '90:13:00:00:00:01', backend: { kind: 'dgram-fd', fd: 3 } },
        { id: 'inet', mac: '90:13:00:00:00:02', backend: { kind: 'stream', host: '127.0.0.1', port: 4000 } },
      ],
    });
    assert.deepEqual(values(withNics, '-netdev'), [
      'dgram,id=vpn,local.type=fd,local.str=3',
      'stream,id=inet,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=4000',
    ]);
    assert.deepEqual(
      values(withNics, '-device').filter((d) => d.startsWith('virtio-net-device')),
      ['virtio-net-device,netdev=vpn,mac=90:13:00:00:00:01', 'virtio-net-device,netdev=inet,mac=90:13:00:00:00:02'],
    );
    const nic = (id: string, mac: string) => ({ id, mac, backend: { kind: 'dgram-fd' as const, fd: 3 } });
    assert.throws(() => buildQemuArgs({ ...base, nics: [nic('vpn,x=1', '90:13:00:00:00:01')] }), RangeError);
    assert.throws(() => buildQemuArgs({ ...base, nics: [nic('vpn', '90:13:00:00:00:01,x=1')] }), RangeError);
  });

  it('rejects nonsense sizes', () => {
    assert.throws(() => buildQemuArgs({ ...base, cpus: 0 }), RangeError);
    assert.throws(() => buildQemuArgs({ ...base, memBytes: 0 }), RangeError);
  });
});

describe('buildKernelCmdline', () => {
  it('appends extra parameters after the base ones', () => {
    assert.equal(
      buildKernelCmdline(['ya.debug=1']),
      'console=ttyS0 reboot=t panic=-1 cryptomgr.notests quiet ya.debug=1',
    );
  });
  it('rejects parameters with spaces', () => {
    assert.throws(() => buildKernelCmdline(['a b']), TypeError);
    assert.throws(() => buildKernelCmdline(['']), TypeError);
  });
  it('is what the shell scripts read (scripts/lib/guest-cmdline.sh)', () => {
    const lib = path.join(REPO_ROOT, 'scripts', 'lib', 'guest-cmdline.sh');
    const sh = (arg: string): string =>
      execFileSync('bash', ['-c', `. "$0"; guest_cmdline ${arg}`, lib], { encoding: 'utf8' }).trim();
    assert.equal(sh('runtime'), BASE_KERNEL_CMDLINE.join(' '));
    assert.equal(sh(''), 'console=ttyS0 reboot=t panic=-1 cryptomgr.notests');
  });
});

describe('helpers', () => {
  it('memMiB rounds up', () => {
    assert.equal(memMiB(1), 1);
    assert.equal(memMiB(1024 * 1024), 1);
    assert.equal(memMiB(1024 * 1024 + 1), 2);
  });
  it('optValue doubles commas', () => {
    assert.equal(optValue('a,b,,c'), 'a,,b,,,,c');
  });
});
