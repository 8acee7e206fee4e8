/**
 * A stand-in for the ExeUnit's INET side, built from a real Linux stack (test code; shares nothing with src/):
 *
 *   VM NIC <-QEMU-> [runtime's socket] <-UDP-> exeunit socket (this relay) <-UDP-> socat <-> TAP in a namespace
 *
 * The namespace (`ip netns`) holds a TAP device playing the ExeUnit's 10.42.42.1/24 and whatever servers the test
 * starts there. socat's TUN address (tun-type=tap, iff-no-pi) moves whole frames between the TAP device and a UDP
 * socket, one frame per datagram, like the ExeUnit's endpoint; the relay in between forwards them unchanged and
 * records every frame the VM sent (its size, EtherType and IPv4 source), so the test can see what left the NIC.
 * Needs root (namespaces, TAP), iproute2 and socat; `unavailable()` says why not when it cannot run.
 */
import { execa, execaSync, type ResultPromise } from 'execa';
import dgram from 'node:dgram';
import fs from 'node:fs';

export interface SeenFrame {
  size: number;
  etherType: number;
  /** IPv4 source (IPv4 frames) or ARP sender address (ARP frames). */
  source?: string;
  dest?: string;
}

function which(cmd: string): boolean {
  return execaSync('sh', ['-c', `command -v ${cmd}`], { reject: false }).exitCode === 0;
}

/** Why the gateway cannot be built here, or undefined when it can. */
export function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and a TAP device)';
  if (!which('ip')) return 'needs ip (iproute2)';
  if (!which('socat')) return 'needs socat';
  if (!fs.existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  return undefined;
}

async function bindLoopback(): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve();
    });
  });
  s.on('error', () => undefined);
  return s;
}

function ipAt(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

export function describeFrame(frame: Buffer): SeenFrame {
  const etherType = frame.length >= 14 ? frame.readUInt16BE(12) : 0;
  const seen: SeenFrame = { size: frame.length, etherType };
  if (etherType === 0x0800 && frame.length >= 34) {
    seen.source = ipAt(frame, 26);
    seen.dest = ipAt(frame, 30);
  } else if (etherType === 0x0806 && frame.length >= 42) {
    seen.source = ipAt(frame, 28);
    seen.dest = ipAt(frame, 38);
  }
  return seen;
}

export class InetGateway {
  readonly fromVm: SeenFrame[] = [];
  readonly toVm: SeenFrame[] = [];
  private vm?: { host: string; port: number };
  private socat?: ResultPromise;
  private servers: ResultPromise[] = [];

  private constructor(
    /** The runtime's `--inet-endpoint`. */
    readonly endpointUrl: string,
    readonly netns: string,
    private readonly exeunit: dgram.Socket,
    private readonly relay: dgram.Socket,
    private readonly mtu: number,
  ) {}

  /** Binds the ExeUnit-side socket and makes the namespace; the TAP comes with `attach` (it needs the VM's port). */
  static async create(mtu: number): Promise<InetGateway> {
    const exeunit = await bindLoopback();
    const relay = await bindLoopback();
    const netns = `yrvm-inet-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    await execa('ip', ['netns', 'add', netns]);
    await execa('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    return new InetGateway(`udp://127.0.0.1:${exeunit.address().port}`, netns, exeunit, relay, mtu);
  }

  /**
   * The CreateNetwork(INET) answer (`127.0.0.1:PORT`): starts socat with a TAP device, moves the TAP into the
   * namespace as 10.42.42.1/24 with the given MTU, and starts relaying.
   */
  async attach(udpDatagram: string): Promise<void> {
    const m = /^([0-9.]+):([0-9]+)$/.exec(udpDatagram);
    if (!m) throw new Error(`not an ip:port answer: ${udpDatagram}`);
    this.vm = { host: m[1]!, port: Number(m[2]) };
    const tap = `yti${process.pid % 100000}`;
    // socat's UDP side (UDP = UDP-CONNECT): it sends to the relay and takes datagrams only from it.
    this.socat = execa(
      'socat',
      [
        '-b',
        '65536',
        `TUN,tun-type=tap,tun-name=${tap},iff-no-pi,iff-up`,
        `UDP:127.0.0.1:${this.relay.address().port}`,
      ],
      { reject: false, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const deadline = Date.now() + 10_000;
    while ((await execa('ip', ['link', 'show', tap], { reject: false })).exitCode !== 0) {
      if (Date.now() > deadline || (this.socat.exitCode !== undefined && this.socat.exitCode !== null))
        throw new Error(`socat did not create ${tap}: ${(await this.socat.catch((e) => e)).stderr ?? ''}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await execa('ip', ['link', 'set', tap, 'netns', this.netns]);
    const ns = ['-n', this.netns];
    await execa('ip', [...ns, 'link', 'set', tap, 'mtu', String(this.mtu), 'up']);
    await execa('ip', [...ns, 'addr', 'add', '10.42.42.1/24', 'dev', tap]);
    let socatAddr: { address: string; port: number } | undefined;
    this.exeunit.on('message', (frame, rinfo) => {
      if (rinfo.address !== this.vm!.host || rinfo.port !== this.vm!.port) return;
      this.fromVm.push(describeFrame(frame));
      if (socatAddr) this.relay.send(frame, socatAddr.port, socatAddr.address);
    });
    this.relay.on('message', (frame, rinfo) => {
      socatAddr ??= { address: rinfo.address, port: rinfo.port };
      this.toVm.push(describeFrame(frame));
      this.exeunit.send(frame, this.vm!.port, this.vm!.host);
    });
    // socat speaks first (its TAP's IPv6 router solicitation as the link comes up); until then frames from the VM
    // have nowhere to go, which the guest's retries cover. Wait for it so the test starts with a working path.
    const ready = Date.now() + 10_000;
    while (!socatAddr) {
      if (Date.now() > ready) {
        // Nudge: a ping from the namespace makes the TAP send an ARP request through socat.
        await execa('ip', ['netns', 'exec', this.netns, 'busybox', 'ping', '-c', '1', '-W', '1', '10.42.42.2'], {
          reject: false,
        });
      }
      if (Date.now() > ready + 10_000) throw new Error('socat never sent a frame');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs a long-lived program in the namespace (a server); stopped by close(). */
  spawnInNamespace(argv: string[]): ResultPromise {
    const p = execa('ip', ['netns', 'exec', this.netns, ...argv], { reject: false, stdio: 'ignore' });
    this.servers.push(p);
    return p;
  }

  /** Waits until a server just spawned in the namespace answers `url` (busybox wget from inside). */
  async waitForHttp(url: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await execa('ip', ['netns', 'exec', this.netns, 'busybox', 'wget', '-q', '-O', '/dev/null', url], {
        reject: false,
      });
      if (r.exitCode === 0) return;
      if (Date.now() > deadline) throw new Error(`${url} does not answer in ${this.netns}: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async close(): Promise<void> {
    for (const p of [...this.servers, this.socat]) p?.kill('SIGKILL');
    await Promise.allSettled([...this.servers, this.socat]);
    await execa('ip', ['netns', 'delete', this.netns], { reject: false });
    this.exeunit.close();
    this.relay.close();
  }
}
