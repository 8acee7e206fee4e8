/**
 * The QEMU command line and the guest kernel command line: pure functions, one comment per flag saying why.
 *
 * Machine: `-M microvm` (virtio-mmio only, no PCI, no firmware tables) with ACPI off, so QEMU lists every
 * virtio-mmio device on the kernel command line (`virtio_mmio.device=...`, our kernel has
 * VIRTIO_MMIO_CMDLINE_DEVICES) and boots through qboot. Without ACPI the guest cannot power off: init ends the VM
 * with a reboot, which `-no-reboot` turns into a QEMU exit (the microvm runs with acpi=off, so there is no power-off).
 *
 * Device values that hold paths go through `optValue`, which doubles commas (QEMU's option-list escape).
 */

import kernelCmdline from './kernel-cmdline.json' with { type: 'json' };

export type Accel = 'kvm' | 'tcg';

export interface VmDisk {
  /** Host path of the raw image. */
  path: string;
  /** virtio-blk serial: the guest finds the disk by it (`/sys/block/vdX/serial`). At most 20 bytes. */
  serial: string;
  readOnly: boolean;
}

export interface VirtiofsShare {
  /** Mount tag the guest uses (`mount -t virtiofs <tag> ...`). */
  tag: string;
  /** virtiofsd's vhost-user socket (a short path: see src/unix-socket-path.ts). */
  socketPath: string;
}

export interface NinePShare {
  tag: string;
  hostPath: string;
  readOnly?: boolean;
}

/**
 * A virtio-net NIC. `dgram-fd`: QEMU's dgram netdev on a UDP socket it inherits as descriptor `fd` (already bound
 * and connected, so QEMU `send()`s and the kernel filters what it receives); one datagram = one Ethernet frame.
 * `stream`: QEMU connects to host:port itself and frames carry a 4-byte big-endian length.
 * `user`: QEMU's user-mode network (slirp: the guest is 10.0.2.15, the host's loopback is 10.0.2.2), for operators.
 */
export interface VmNic {
  /** netdev id, e.g. `vpn`. */
  id: string;
  mac: string;
  backend: { kind: 'dgram-fd'; fd: number } | { kind: 'stream'; host: string; port: number } | { kind: 'user' };
}

export interface VmConfig {
  accel: Accel;
  cpus: number;
  /** Guest RAM in bytes; rounded up to whole MiB. */
  memBytes: number;
  kernelPath: string;
  /** Omit to boot the kernel alone (the accelerator probe does). */
  initrdPath?: string;
  /** Appended to the base kernel command line. */
  cmdlineExtra?: string[];
  /** Where the guest's serial console (ttyS0) is written. Omit to discard it. */
  consoleLogPath?: string;
  /** Unix socket QEMU listens on for the agent port (virtserialport `yagent`). Omit for no agent port. */
  agentSocketPath?: string;
  disks?: VmDisk[];
  virtiofs?: VirtiofsShare[];
  ninep?: NinePShare[];
  /** In order: the guest probes them in this order (it finds them by MAC anyway). */
  nics?: VmNic[];
}

/** Name of the virtio-serial port init looks for under /sys/class/virtio-ports (docs/guest-protocol.md). */
export const AGENT_PORT_NAME = 'yagent';

/** Serial of the read-only image disk (docs/gvmi-format.md, section 5). */
export const ROOTFS_SERIAL = 'rootfs-0';

/**
 * Kernel parameters every boot of the runtime gets: kernel-cmdline.json's `boot` then `runtime` (its `why` says why
 * each is there). The JSON is the one source: scripts/lib/guest-cmdline.sh and bench/kvm/measure.py read it too.
 */
export const BASE_KERNEL_CMDLINE: readonly string[] = [...kernelCmdline.boot, ...kernelCmdline.runtime];

/** The guest kernel command line: the base parameters, then `extra` in order. */
export function buildKernelCmdline(extra: readonly string[] = []): string {
  for (const p of extra) {
    if (p === '' || /\s/.test(p))
      throw new TypeError(`kernel parameter must be one non-empty word: ${JSON.stringify(p)}`);
  }
  return [...BASE_KERNEL_CMDLINE, ...extra].join(' ');
}

/** Doubles commas, QEMU's escape for a value inside a comma-separated option list. */
export function optValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/** Guest memory in whole MiB (QEMU's `-m` and the memfd backend must agree exactly). */
export function memMiB(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes <= 0) throw new RangeError(`guest memory must be positive, got ${bytes}`);
  return Math.ceil(bytes / (1024 * 1024));
}

export function buildQemuArgs(cfg: VmConfig): string[] {
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1)
    throw new RangeError(`vCPU count must be a positive integer, got ${cfg.cpus}`);
  const mib = memMiB(cfg.memBytes);
  const a: string[] = [];

  a.push(
    // microvm: virtio-mmio devices only, minimal firmware (qboot) -> fastest boot. acpi=off makes QEMU put the
    // virtio-mmio devices on the kernel command line; rtc=on keeps the CMOS clock (guest wall time at boot);
    // memory-backend=mem takes guest RAM from the memfd object below.
    '-M',
    'microvm,acpi=off,rtc=on,memory-backend=mem',
    // Guest RAM as a shared memfd: vhost-user-fs (virtiofsd) must map guest memory to serve requests.
    '-object',
    `memory-backend-memfd,id=mem,size=${mib}M,share=on`,
    // Must equal the backend's size.
    '-m',
    `${mib}M`,
    // KVM when the probe says it really works, else TCG (accel-probe.ts).
    '-accel',
    cfg.accel,
    // KVM: pass the host CPU through. TCG: `max` emulates every feature QEMU can (RDRAND, AVX...) that real
    // images expect; only ~0.1 s slower to boot than qemu64 (measured when the guest kernel was chosen).
    '-cpu',
    cfg.accel === 'kvm' ? 'host' : 'max',
    // vCPUs the activity was sold.
    '-smp',
    String(cfg.cpus),
    // No default devices (NIC, VGA, monitor, parallel...): everything the guest sees is listed here.
    '-nodefaults',
    // Ignore /etc/qemu/*.conf: the host's QEMU config must not change our VM.
    '-no-user-config',
    // No display window and no curses: a runtime has no screen.
    '-nographic',
    // A guest reboot (init ending the VM, or panic=-1) makes QEMU exit instead of booting again.
    '-no-reboot',
    // seccomp: QEMU may not use obsolete syscalls, setuid, fork/exec or change resource limits.
    '-sandbox',
    'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    // The guest kernel, booted directly (no bootloader).
    '-kernel',
    cfg.kernelPath,
  );
  if (cfg.initrdPath !== undefined) {
    // The initramfs holding our init (PID 1).
    a.push('-initrd', cfg.initrdPath);
  }
  a.push(
    // Kernel parameters: see BASE_KERNEL_CMDLINE.
    '-append',
    buildKernelCmdline(cfg.cmdlineExtra),
    // ttyS0 (microvm's ISA serial) to a file; `file:` takes the rest verbatim, no comma escaping.
    '-serial',
    cfg.consoleLogPath === undefined ? 'null' : `file:${cfg.consoleLogPath}`,
    // QEMU 7.2 makes virtio-mmio devices legacy by default; libvhost-user (virtiofsd) refuses legacy devices.
    '-global',
    'virtio-mmio.force-legacy=false',
  );

  (cfg.disks ?? []).forEach((d, i) => {
    if (Buffer.byteLength(d.serial) > 20) throw new RangeError(`virtio-blk serial longer than 20 bytes: ${d.serial}`);
    const ro = d.readOnly ? ',readonly=on' : '';
    a.push(
      // Backend only (if=none): the device below attaches it. Raw format, never probed (a guest could
      // otherwise write a qcow2 header into a raw disk and have QEMU read it next boot). An I/O error on the host
      // (its disk full under a sparse image) is reported to the guest as EIO: QEMU's default for writes, enospc,
      // would pause the whole VM, and with it every command and the agent.
      '-drive',
      `id=disk${i},file=${optValue(d.path)},format=raw,if=none,werror=report,rerror=report${ro}`,
      // virtio-blk over virtio-mmio; the serial is how init finds the disk.
      '-device',
      `virtio-blk-device,drive=disk${i},serial=${optValue(d.serial)}`,
    );
  });

  if (cfg.agentSocketPath !== undefined) {
    a.push(
      // One virtio-serial bus for the agent port.
      '-device',
      'virtio-serial-device,id=vser0',
      // QEMU listens on the socket (server=on) and does not wait for us before starting the guest (wait=off).
      '-chardev',
      `socket,id=agent,path=${optValue(cfg.agentSocketPath)},server=on,wait=off`,
      // The port init finds by name under /sys/class/virtio-ports.
      '-device',
      `virtserialport,bus=vser0.0,chardev=agent,name=${AGENT_PORT_NAME}`,
    );
  }

  (cfg.virtiofs ?? []).forEach((s, i) => {
    a.push(
      // Client end of virtiofsd's vhost-user socket (virtiofsd listens; it must be up before QEMU starts).
      '-chardev',
      `socket,id=vfs${i},path=${optValue(s.socketPath)}`,
      // virtio-fs over virtio-mmio; the guest mounts it by tag.
      '-device',
      `vhost-user-fs-device,chardev=vfs${i},tag=${optValue(s.tag)}`,
    );
  });

  (cfg.ninep ?? []).forEach((s, i) => {
    const ro = s.readOnly ? ',readonly=on' : '';
    a.push(
      // 9p fallback (no virtiofsd): QEMU serves the directory itself. security_model=none: files keep the
      // host's owners and modes, no xattr mapping (we run as root; the share is the activity's own dir).
      '-fsdev',
      `local,id=fs${i},path=${optValue(s.hostPath)},security_model=none${ro}`,
      // virtio-9p over virtio-mmio; the guest mounts it by tag.
      '-device',
      `virtio-9p-device,fsdev=fs${i},mount_tag=${optValue(s.tag)}`,
    );
  });

  for (const n of cfg.nics ?? []) {
    if (!/^[a-z][a-z0-9]{0,15}$/.test(n.id)) throw new RangeError(`netdev id must be a short lowercase word: ${n.id}`);
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(n.mac))
      throw new RangeError(`NIC MAC must be lowercase aa:bb:..: ${n.mac}`);
    a.push(
      '-netdev',
      n.backend.kind === 'dgram-fd'
        ? // The runtime's connected UDP socket, inherited: no destination (QEMU uses send()), no port for QEMU to
          // bind, and only the ExeUnit's address can reach the guest.
          `dgram,id=${n.id},local.type=fd,local.str=${n.backend.fd}`
        : n.backend.kind === 'stream'
          ? // QEMU dials the ExeUnit's TCP endpoint; frames carry a 4-byte big-endian length.
            `stream,id=${n.id},server=off,addr.type=inet,addr.host=${n.backend.host},addr.port=${n.backend.port}`
          : // slirp: outbound TCP/UDP through the host's own sockets; nothing listens inbound.
            `user,id=${n.id}`,
      // virtio-net over virtio-mmio, with the MAC by which init finds it.
      '-device',
      `virtio-net-device,netdev=${n.id},mac=${n.mac}`,
    );
  }

  return a;
}
