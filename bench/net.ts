/**
 * VPN network between two VMs (docs/networking.md): two bench VMs, A and B, each booted with a VPN endpoint
 * (`--vpn-endpoint udp://127.0.0.1:PORT`) of an ExeUnit-like switch in this process (test/helpers/vpn-switch.ts),
 * configured by CreateNetwork(VPN) as 192.168.77.2/24 (node-a) and 192.168.77.3/24 (node-b). A frame from A goes
 * guest A virtio-net -> QEMU A's UDP socket -> the switch (Node, this process) -> QEMU B -> guest B. Not yagna's
 * relay: the switch only forwards datagrams on the loopback.
 *
 * vpn-tcp: `dd if=/dev/zero bs=64k count=N | nc node-b 5000` in A while B runs a busybox nc listener whose output
 * is counted (`| wc -c`); timed on the host (wall time of the exec minus one exec round trip, as timedInGuest) and
 * by the guest (timeit in A). Every transfer's byte count is checked on the receiving side. Floors: the same
 * transfer inside A over its own loopback (listener and sender in A, timed the same way), and between two host
 * processes over the host's loopback (busybox nc on the host, timed on the host minus a process spawn). Rounds
 * alternate the figure and its floors, after one warm-up of each.
 *
 * vpn-rtt: busybox `ping -A node-b` in A (the next echo as soon as the reply came), timed by the host clock as
 * (wall of `ping -A -c 21` - wall of `ping -A -c 1`) / 20, so the exec cancels out. Not ping's own time=: that is
 * the guest clock, which under TCG falls back to jiffies (4 ms steps) once the kernel drops the TSC; it is shown
 * beside. Floors: the same inside A to 127.0.0.1, and busybox ping -A 127.0.0.1 on the host (there by ping's own
 * time=, the host clock: a spawn's jitter is larger than the host's loopback round trip).
 */
import fs from 'node:fs/promises';
import { execa } from 'execa';
import type { Activity } from '../src/activity.js';
import type { NetworkSpec } from '../src/activity-api.js';
import { parseEndpoint } from '../src/network/endpoint.js';
import { TestVpnSwitch, type SwitchNode } from '../test/helpers/vpn-switch.js';
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { makeFigure, type Figure } from './lib/results.js';
import { mbPerSec, summarize } from './lib/stats.js';
import { bootVm, execBaseline, guestClocksource, mustRun, sleep, timedInGuest, type BootedVm } from './lib/vm.js';

const NET = '192.168.77';
const HOSTS = { 'node-a': `${NET}.2`, 'node-b': `${NET}.3` };
/** Listener ports: B's for the VPN transfer, A's for its loopback floor. */
const VPN_PORT = 5000;
const LO_PORT = 5001;
const PINGS = 20;

function networks(last: number): NetworkSpec[] {
  return [{ addr: `${NET}.0`, gateway: '', mask: '255.255.255.0', ifAddr: `${NET}.${last}` }];
}

/** `:1388 00000000:0000 0A`: a socket listening on the port, as /proc/net/tcp and tcp6 list it (busybox nc
 * listens on :: when the kernel has IPv6). An extended regular expression. */
function listenPattern(port: number): string {
  return `:${port.toString(16).toUpperCase().padStart(4, '0')} 0+:0000 0A`;
}

/**
 * Starts a busybox nc listener in the guest that counts what it receives into /tmp/nc-PORT.n (written when the
 * sender has closed), and returns once the port is listening. Its stdin is a FIFO opened read-write: busybox nc
 * quits at stdin EOF.
 */
async function guestListen(a: Activity, port: number): Promise<void> {
  const f = `/tmp/nc-${port}`;
  await mustRun(a, [
    '/bin/sh',
    '-c',
    `rm -f ${f}.in ${f}.n ${f}.tmp; mkfifo ${f}.in; ` +
      `(nc -l -p ${port} <>${f}.in | wc -c >${f}.tmp; mv ${f}.tmp ${f}.n) >/dev/null 2>&1 & ` +
      `for i in $(seq 1 200); do cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -qE '${listenPattern(port)}' && exit 0; ` +
      'sleep 0.05; done; ' +
      `echo "nc -l -p ${port} is not listening after 10 s" >&2; exit 1`,
  ]);
}

/** The byte count of the listener started by guestListen (waits up to 20 s for it to finish). */
async function guestReceived(a: Activity, port: number): Promise<number> {
  const f = `/tmp/nc-${port}`;
  const r = await mustRun(a, [
    '/bin/sh',
    '-c',
    `for i in $(seq 1 400); do [ -e ${f}.n ] && exec cat ${f}.n; sleep 0.05; done; ` +
      `echo "the nc listener on ${port} did not finish" >&2; exit 1`,
  ]);
  return Number(r.stdout.toString().trim());
}

function checkBytes(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: ${got} of ${want} bytes arrived`);
}

async function hostListening(port: number): Promise<boolean> {
  const re = new RegExp(listenPattern(port));
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6'])
    if (re.test(await fs.readFile(f, 'utf8').catch(() => ''))) return true;
  return false;
}

/** One transfer between two busybox nc on the host's loopback: ms (minus a spawn) and the bytes counted. */
async function hostTransfer(dir: string, port: number, count: number, spawnMs: number): Promise<number> {
  const fifo = `${dir}/in-${port}`;
  await fs.rm(fifo, { force: true });
  await execa('mkfifo', [fifo]);
  const listener = execa('sh', ['-c', `busybox nc -l -p ${port} <>${fifo} | wc -c`], { reject: false });
  try {
    for (let i = 0; !(await hostListening(port)); i++) {
      if (i > 200) throw new Error(`host: busybox nc -l -p ${port} is not listening after 10 s`);
      await sleep(50);
    }
    const t0 = performance.now();
    await execa('sh', ['-c', `dd if=/dev/zero bs=64k count=${count} 2>/dev/null | busybox nc 127.0.0.1 ${port}`]);
    const ms = performance.now() - t0 - spawnMs;
    const r = await listener;
    checkBytes('host loopback transfer', Number(String(r.stdout).trim()), count * 65536);
    return Math.max(ms, 0.001);
  } finally {
    listener.kill();
  }
}

function parsePing(what: string, out: string, count: number): number[] {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
  if (!m || m[2] !== m[1] || Number(m[1]) !== count)
    throw new Error(`${what}: ${m ? `${m[2]} of ${m[1]} replies` : 'no ping statistics'}: ${out.slice(-300)}`);
  const times = [...out.matchAll(/time=([0-9.]+) ms/g)].map((x) => Number(x[1]));
  if (times.length !== count) throw new Error(`${what}: ${times.length} time= lines for ${count} replies`);
  return times;
}

/**
 * One round trip sample by the host clock: `ping -A` sends the next echo as soon as a reply came, so
 * (wall of `ping -A -c PINGS+1` - wall of `ping -A -c 1`) / PINGS is the mean round trip of PINGS pings, with the
 * exec (or spawn) and ping's start-up cancelled out. Also returns the replies' time= (ping's own clock).
 */
async function pingSample(
  what: string,
  run: (count: number) => Promise<string>,
): Promise<{ ms: number; times: number[] }> {
  const wall = async (count: number): Promise<{ ms: number; times: number[] }> => {
    const t0 = performance.now();
    const out = await run(count);
    return { ms: performance.now() - t0, times: parsePing(what, out, count) };
  };
  const one = await wall(1);
  const many = await wall(PINGS + 1);
  return { ms: Math.max((many.ms - one.ms) / PINGS, 0.001), times: many.times };
}

async function hasHostBusybox(): Promise<boolean> {
  const r = await execa('busybox', ['nc', '--help'], { reject: false, all: true });
  return r.exitCode !== undefined && /nc/.test(String(r.all));
}

export async function vpnNetwork(ctx: BenchContext): Promise<Figure[]> {
  const rounds = iterations(ctx, 2, 5);
  const pingRounds = iterations(ctx, 4, 10);
  const mib = ctx.quick ? 16 : 64;
  const count = mib * 16; // 64 KiB blocks
  const bytes = count * 65536;
  const sw = new TestVpnSwitch();
  const vms: BootedVm[] = [];
  const hostDir = await fs.mkdtemp('/tmp/yrvm-bench-net-');
  try {
    const nodeA = await sw.addNode('node-a', HOSTS['node-a']);
    const nodeB = await sw.addNode('node-b', HOSTS['node-b']);
    ctx.say('VPN network: booting two bench VMs joined by the test switch');
    const booted = await Promise.allSettled(
      ([nodeA, nodeB] as SwitchNode[]).map((n) =>
        bootVm(ctx.art.benchImage, ctx.deployGlobals, {
          tag: `net-${n.name}`,
          network: { vpn: parseEndpoint('vpn', n.endpointUrl) },
        }),
      ),
    );
    for (const b of booted) if (b.status === 'fulfilled') vms.push(b.value);
    const failed = booted.find((b): b is PromiseRejectedResult => b.status === 'rejected');
    if (failed) throw failed.reason;
    const [vmA, vmB] = vms as [BootedVm, BootedVm];
    const a = vmA.activity;
    const b = vmB.activity;
    for (const [act, node, last] of [
      [a, nodeA, 2],
      [b, nodeB, 3],
    ] as const) {
      const answer = await act.createNetwork({ role: 'vpn', networks: networks(last), hosts: HOSTS });
      if (answer.kind !== 'udp') throw new Error(`CreateNetwork answered ${answer.kind} ${answer.address}`);
      sw.attach(node, answer.address);
    }
    // ARP, and a check that the path works at all before anything is timed.
    await mustRun(a, ['/bin/sh', '-c', 'ping -c 2 -W 5 node-b >/dev/null']);
    const base = await execBaseline(a);
    const hostBusybox = await hasHostBusybox();
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const spawnMs = hostBusybox ? await hostSpawnBaseline() : 0;

    const dd = (to: string, port: number): string[] => [
      '/bin/sh',
      '-c',
      `dd if=/dev/zero bs=64k count=${count} 2>/dev/null | nc ${to} ${port}`,
    ];
    const vpnOnce = async (): Promise<{ host: number; guest: number }> => {
      await guestListen(b, VPN_PORT);
      const t = await timedInGuest(a, dd('node-b', VPN_PORT), base);
      checkBytes('VPN transfer A -> B', await guestReceived(b, VPN_PORT), bytes);
      return t;
    };
    const loOnce = async (): Promise<{ host: number; guest: number }> => {
      await guestListen(a, LO_PORT);
      const t = await timedInGuest(a, dd('127.0.0.1', LO_PORT), base);
      checkBytes('loopback transfer in A', await guestReceived(a, LO_PORT), bytes);
      return t;
    };
    const hostOnce = (): Promise<number> => hostTransfer(hostDir, hostPort, count, spawnMs);

    ctx.say(
      `VPN TCP: 1 warm-up + ${rounds} rounds of ${mib} MiB A -> B, alternating with loopback in A${hostBusybox ? ' and on the host' : ''}`,
    );
    await vpnOnce();
    await loOnce();
    if (hostBusybox) await hostOnce();
    const vpn: number[] = [];
    const vpnGuest: number[] = [];
    const lo: number[] = [];
    const loGuest: number[] = [];
    const host: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const v = await vpnOnce();
      vpn.push(mbPerSec(bytes, v.host));
      vpnGuest.push(mbPerSec(bytes, v.guest));
      const l = await loOnce();
      lo.push(mbPerSec(bytes, l.host));
      loGuest.push(mbPerSec(bytes, l.guest));
      if (hostBusybox) host.push(mbPerSec(bytes, await hostOnce()));
    }
    const framesA = nodeA.fromVm;

    ctx.say(
      `VPN ping: 1 warm-up + ${pingRounds} rounds of ping -A -c ${PINGS + 1} A -> B, alternating with 127.0.0.1 in A${hostBusybox ? ' and on the host' : ''}`,
    );
    const guestPing =
      (act: Activity, to: string) =>
      async (c: number): Promise<string> =>
        (await mustRun(act, ['/bin/ping', '-A', '-c', String(c), to])).stdout.toString();
    const hostPing = async (c: number): Promise<string> =>
      String((await execa('busybox', ['ping', '-A', '-c', String(c), '127.0.0.1'])).stdout);
    const pingVpn = (): ReturnType<typeof pingSample> => pingSample('ping node-b in A', guestPing(a, 'node-b'));
    const pingLo = (): ReturnType<typeof pingSample> => pingSample('ping 127.0.0.1 in A', guestPing(a, '127.0.0.1'));
    await pingVpn();
    await pingLo();
    const rtt: number[] = [];
    const rttGuest: number[] = [];
    const rttLo: number[] = [];
    const rttLoGuest: number[] = [];
    const rttHost: number[] = [];
    for (let i = 0; i < pingRounds; i++) {
      const v = await pingVpn();
      rtt.push(v.ms);
      rttGuest.push(...v.times);
      const l = await pingLo();
      rttLo.push(l.ms);
      rttLoGuest.push(...l.times);
      // On the host, ping's own time= is the host clock, and the spawn's jitter would swamp a difference of walls.
      if (hostBusybox) {
        const times = parsePing('busybox ping 127.0.0.1 on the host', await hostPing(PINGS), PINGS);
        rttHost.push(times.reduce((x, y) => x + y, 0) / PINGS);
      }
    }
    const clock = await guestClocksource(a);
    const g = summarize(vpnGuest);
    const noHost = hostBusybox ? [] : ['no busybox on the host: the host floors were not measured'];
    return [
      makeFigure({
        id: 'vpn-tcp',
        title: `TCP throughput A -> B over the VPN (${mib} MiB, busybox nc)`,
        unit: 'MB/s',
        better: 'higher',
        samples: vpn,
        floors: [
          {
            label:
              'the same transfer inside guest A over its loopback (dd | nc 127.0.0.1), host clock minus one exec round trip',
            samples: lo,
          },
          { label: `the same loopback transfer in A, guest clock (clocksource ${clock})`, samples: loGuest },
          {
            label: 'the same transfer between two busybox nc on the host over its loopback, host clock minus one spawn',
            samples: host,
          },
        ],
        notes: [
          `MB = 10^6 bytes; ${bytes} bytes per transfer in 64 KiB dd blocks, each count checked on the receiving side (nc -l | wc -c); timed on the host from exec to exit notice minus one exec round trip (${base.toFixed(1)} ms)`,
          `the same VPN transfers by the guest clock (timeit in A, clocksource ${clock}): median ${g.median.toFixed(1)} MB/s (min ${g.min.toFixed(1)}, max ${g.max.toFixed(1)})`,
          `${framesA} frames from A through the switch in all; MTU 1220; 1 vCPU per VM; reported, no target`,
          ...noHost,
        ],
      }),
      makeFigure({
        id: 'vpn-rtt',
        title: `Ping round trip A -> B over the VPN (busybox ping -A, host clock)`,
        unit: 'ms',
        better: 'lower',
        samples: rtt,
        floors: [
          {
            label: `ping -A 127.0.0.1 inside guest A (its loopback), host clock, means of ${PINGS}`,
            samples: rttLo,
          },
          {
            label: `busybox ping -A 127.0.0.1 on the host, its own time= (the host clock), means of ${PINGS}`,
            samples: rttHost,
          },
          { label: `the VPN pings' own time= (guest clock, clocksource ${clock})`, samples: rttGuest },
          { label: `the in-guest loopback pings' own time= (guest clock)`, samples: rttLoGuest },
        ],
        notes: [
          `one sample = (wall of ping -A -c ${PINGS + 1} - wall of ping -A -c 1) / ${PINGS}: the mean round trip of ${PINGS} back-to-back pings (-A: the next echo as soon as the reply came), exec and start-up cancelled; ${pingRounds} rounds alternating with the floors after 2 pings to fill the ARP cache and a warm-up; every reply counted; reported, no target`,
          `ping's own time= uses the guest clock, which under TCG may be jiffies (4 ms steps): clocksource ${clock} at the end of this run`,
          ...noHost,
        ],
      }),
    ];
  } finally {
    await Promise.allSettled(vms.map((v) => v.dispose()));
    sw.close();
    await fs.rm(hostDir, { recursive: true, force: true });
  }
}

/** Median wall time (ms) of spawning the host pipeline's shell and processes with nothing to move. */
async function hostSpawnBaseline(runs = 5): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await execa('sh', ['-c', 'dd if=/dev/zero bs=64k count=0 2>/dev/null | busybox true']);
    xs.push(performance.now() - t0);
  }
  return summarize(xs).median;
}
