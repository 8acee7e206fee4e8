/**
 * The VPN (docs/networking.md) with real stacks: two activities on this host, each started as the ExeUnit starts
 * it (`--vpn-endpoint udp://127.0.0.1:A … start`), joined by a test switch that forwards frames between their UDP
 * endpoints the way the ExeUnit does (test/helpers/vpn-switch.ts). Traffic stays on this machine.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { finish, spawnRuntime, type ServiceRuntime } from '../helpers/service-runtime.js';
import { testImage } from '../helpers/vm.js';
import { TestVpnSwitch, type SwitchNode } from '../helpers/vpn-switch.js';
import type { WireNetwork } from '../helpers/exeunit-client.js';

const VPN = 0;
const INET = 1;
/** Transfer rounds of the stress case: a few in `npm test`, hundreds in `npm run stress`. */
const ROUNDS = Number(process.env['YA_VPN_STRESS_ROUNDS'] ?? 6);

/** The requestor's networks: one with a gateway, one without (on-link only). */
function networksFor(last: number): WireNetwork[] {
  return [
    { addr: '192.168.8.0', gateway: '192.168.8.1', mask: '255.255.255.0', ifAddr: `192.168.8.${last}` },
    { addr: '10.77.0.0', gateway: '', mask: '255.255.0.0', ifAddr: `10.77.0.${last}` },
  ];
}
const HOSTS = { 'node-a': '192.168.8.2', 'node-b': '192.168.8.3' };

async function sh(rt: ServiceRuntime, script: string): Promise<string> {
  const r = await rt.client.run('/bin/sh', ['-c', script]);
  assert.equal(r.code, 0, `${script}\nstdout: ${r.stdout.toString()}\nstderr: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function udpAnswer(endpoint: string): string {
  const m = /^udp_datagram:(127\.0\.0\.1:[0-9]+)$/.exec(endpoint);
  assert.ok(m, `CreateNetwork answers a udp_datagram 127.0.0.1:PORT, got ${endpoint}`);
  return m[1]!;
}

describe('VPN between two VMs through an ExeUnit-like switch', () => {
  const sw = new TestVpnSwitch();
  let nodeA: SwitchNode;
  let nodeB: SwitchNode;
  let a: ServiceRuntime;
  let b: ServiceRuntime;
  let answerA: string;

  before(async () => {
    nodeA = await sw.addNode('a', '192.168.8.2', '10.77.0.2');
    nodeB = await sw.addNode('b', '192.168.8.3', '10.77.0.3');
    // B is the small one: 1 vCPU, 256 MiB.
    [a, b] = await Promise.all([
      spawnRuntime(testImage(), { memGib: 0.75, extra: ['--vpn-endpoint', nodeA.endpointUrl] }),
      spawnRuntime(testImage(), { cpuCores: 1, memGib: 0.25, extra: ['--vpn-endpoint', nodeB.endpointUrl] }),
    ]);
    await Promise.all([a.client.hello(), b.client.hello()]);
    for (const [rt, node, last] of [
      [a, nodeA, 2],
      [b, nodeB, 3],
    ] as const) {
      const r = await rt.client.request({ network: { networks: networksFor(last), hosts: HOSTS, interface: VPN } });
      assert.equal(r.kind, 'network', JSON.stringify(r));
      const addr = udpAnswer(r.kind === 'network' ? r.endpoint : '');
      sw.attach(node, addr);
      if (rt === a) answerA = addr;
    }
  });

  after(async () => {
    await Promise.allSettled([a && a.client.shutdown(20_000), b && b.client.shutdown(20_000)]);
    await Promise.all([a && finish(a), b && finish(b)]);
    sw.close();
  });

  it('the guest shows the addresses, routes, MAC, MTU and hosts it was given', async () => {
    const out = await sh(
      a,
      'for n in /sys/class/net/*; do [ "$(cat $n/address)" = 90:13:c0:a8:08:02 ] && d=${n##*/}; done; ' +
        'echo "dev=$d mtu=$(cat /sys/class/net/$d/mtu)"; ip -4 addr show dev $d; ip route; cat /etc/hosts',
    );
    const dev = /dev=(\S+) mtu=1220/.exec(out)?.[1];
    assert.ok(dev, `a NIC with MAC 90:13:c0:a8:08:02 and MTU 1220:\n${out}`);
    assert.match(out, /inet 192\.168\.8\.2\/24/);
    assert.match(out, /inet 10\.77\.0\.2\/16/);
    assert.match(out, new RegExp(`192\\.168\\.8\\.0/24 via 192\\.168\\.8\\.1 dev ${dev}\\s+metric 101`));
    assert.match(out, new RegExp(`192\\.168\\.8\\.0/24 dev ${dev}\\s.*src 192\\.168\\.8\\.2`));
    assert.match(out, new RegExp(`10\\.77\\.0\\.0/16 dev ${dev}\\s.*src 10\\.77\\.0\\.2`));
    assert.doesNotMatch(out, /10\.77\.0\.0\/16 via/, 'a network without a gateway is on-link only');
    assert.match(out, /^192\.168\.8\.2\tnode-a$/m);
    assert.match(out, /^192\.168\.8\.3\tnode-b$/m);
  });

  it('pings the other VM by its hosts name, on both networks', async () => {
    const out = await sh(a, 'ping -c 3 -W 5 node-b && ping -c 2 -W 5 10.77.0.3');
    assert.match(out, /3 packets transmitted, 3 (packets )?received/);
    assert.match(out, /2 packets transmitted, 2 (packets )?received/);
  });

  it('moves 64 MiB over TCP (busybox nc) byte-exact', async () => {
    // B listens in the background; its stdin is a FIFO opened read-write, which never reaches EOF (busybox nc
    // quits at stdin EOF), and it records its exit when A closes the connection.
    await sh(
      b,
      'rm -f /tmp/recv /tmp/recv.done /tmp/f; mkfifo /tmp/f; ' +
        '(nc -l -p 5000 <>/tmp/f >/tmp/recv; echo $? >/tmp/recv.done) >/dev/null 2>&1 & echo listening',
    );
    const sent = await sh(a, 'head -c 67108864 /dev/urandom >/tmp/blob && md5sum </tmp/blob');
    // The listener may need a moment under TCG: retry the connect until it is accepted.
    await sh(a, 'for i in $(seq 1 50); do nc node-b 5000 </tmp/blob && exit 0; sleep 0.2; done; exit 1');
    const got = await sh(
      b,
      'for i in $(seq 1 600); do [ -e /tmp/recv.done ] && break; sleep 0.1; done; ' +
        'cat /tmp/recv.done; wc -c </tmp/recv; md5sum </tmp/recv',
    );
    const [rc, size, sum] = got.trim().split('\n');
    assert.equal(rc, '0');
    assert.equal(size?.trim(), '67108864');
    assert.equal(sum, sent.trim());
    assert.ok(nodeA.fromVm > 1000 && nodeB.toVm > 1000, `frames went through the switch (${nodeA.fromVm})`);
  });

  it(`${ROUNDS} rounds of 2 MiB each way, alternating directions, byte-exact, no guest oops`, async () => {
    // Both guests hold the same 2 MiB; each round one listens (FIFO trick as above) and the other sends.
    const blob = 'head -c 2097152 /dev/urandom >/tmp/s && md5sum </tmp/s';
    const sumA = (await sh(a, blob)).trim();
    const sumB = (await sh(b, blob)).trim();
    for (let i = 0; i < ROUNDS; i++) {
      const [rx, tx, peer, sum] = i % 2 === 0 ? [b, a, 'node-b', sumA] : [a, b, 'node-a', sumB];
      const port = 6000 + i;
      await sh(
        rx,
        `rm -f /tmp/r /tmp/r.done /tmp/rf; mkfifo /tmp/rf; ` +
          `(nc -l -p ${port} <>/tmp/rf >/tmp/r; echo $? >/tmp/r.done) >/dev/null 2>&1 & echo listening`,
      );
      await sh(tx, `for i in $(seq 1 50); do nc ${peer} ${port} </tmp/s && exit 0; sleep 0.2; done; exit 1`);
      const got = await sh(
        rx,
        'for i in $(seq 1 300); do [ -e /tmp/r.done ] && break; sleep 0.1; done; cat /tmp/r.done; md5sum </tmp/r',
      );
      assert.deepEqual(got.trim().split('\n'), ['0', sum], `round ${i + 1} of ${ROUNDS}`);
    }
  });

  it('frames from any other local address do not reach the guest', async () => {
    const rx = async (): Promise<number> =>
      Number(
        await sh(
          a,
          'cat /sys/class/net/$(grep -l 90:13:c0:a8:08:02 /sys/class/net/*/address | cut -d/ -f5)/statistics/rx_packets',
        ),
      );
    const before = await rx();
    // A broadcast ARP request for A's address, sent straight to QEMU's port from a socket that is not the switch.
    const intruder = dgram.createSocket('udp4');
    const [host, port] = answerA.split(':');
    const arp = Buffer.from(
      'ffffffffffff' +
        '020000000001' +
        '0806' +
        '0001080006040001' +
        '020000000001' +
        'c0a80863' +
        '000000000000' +
        'c0a80802',
      'hex',
    );
    for (let i = 0; i < 50; i++) intruder.send(arp, Number(port), host);
    await new Promise((r) => setTimeout(r, 500));
    intruder.close();
    assert.equal(await rx(), before, 'the guest received none of the injected frames');
  });

  it('refuses a second CreateNetwork for the VPN and keeps serving', async () => {
    const r = await a.client.request({ network: { networks: networksFor(2), hosts: {}, interface: VPN } });
    assert.equal(r.kind, 'error');
    assert.match(r.kind === 'error' ? r.error.message : '', /VPN interface was already configured/);
    assert.equal((await a.client.run('/bin/echo', ['still here'])).stdout.toString(), 'still here\n');
  });
});

describe('CreateNetwork requests the runtime refuses', () => {
  const sw = new TestVpnSwitch();
  let rt: ServiceRuntime;

  before(async () => {
    const node = await sw.addNode('solo', '192.168.9.2');
    rt = await spawnRuntime(testImage(), { extra: ['--vpn-endpoint', node.endpointUrl] });
    await rt.client.hello();
  });

  after(async () => {
    await rt?.client.shutdown(20_000).catch(() => undefined);
    if (rt) await finish(rt);
    sw.close();
  });

  it('works without any CreateNetwork (the ExeUnit passes --vpn-endpoint even when there is no network)', async () => {
    assert.equal((await rt.client.run('/bin/echo', ['no network'])).stdout.toString(), 'no network\n');
  });

  const good = { addr: '192.168.9.0', gateway: '192.168.9.1', mask: '255.255.255.0', ifAddr: '192.168.9.2' };
  const cases: [string, Parameters<ServiceRuntime['client']['request']>[0], RegExp][] = [
    [
      'INET without --inet-endpoint',
      { network: { networks: [good], hosts: {}, interface: INET } },
      /started without --inet-endpoint/,
    ],
    [
      'a malformed address',
      { network: { networks: [{ ...good, ifAddr: '192.168.9.256' }], hosts: {}, interface: VPN } },
      /if_addr "192\.168\.9\.256" is not an IPv4 address/,
    ],
    [
      'a non-contiguous mask',
      { network: { networks: [{ ...good, mask: '255.0.255.0' }], hosts: {}, interface: VPN } },
      /mask 255\.0\.255\.0 is not contiguous/,
    ],
    [
      'an address outside its network',
      { network: { networks: [{ ...good, ifAddr: '192.168.10.2' }], hosts: {}, interface: VPN } },
      /if_addr 192\.168\.10\.2 is outside 192\.168\.9\.0\/24/,
    ],
    [
      'a host name with a newline',
      { network: { networks: [good], hosts: { 'evil\n10.0.0.1 bank': '192.168.9.3' }, interface: VPN } },
      /host name "evil\\n10\.0\.0\.1 bank" is not/,
    ],
    [
      'a host name with a space',
      { network: { networks: [good], hosts: { 'two words': '192.168.9.3' }, interface: VPN } },
      /host name "two words" is not/,
    ],
  ];
  for (const [name, request, message] of cases) {
    it(`refuses ${name} with an Error reply`, async () => {
      const r = await rt.client.request(request);
      assert.equal(r.kind, 'error', JSON.stringify(r));
      assert.match(r.kind === 'error' ? r.error.message : '', message);
    });
  }

  it('then applies a good request, and /etc/hosts has no line it was not given', async () => {
    const r = await rt.client.request({
      network: { networks: [good], hosts: { peer: '192.168.9.3' }, interface: VPN },
    });
    assert.equal(r.kind, 'network', JSON.stringify(r));
    const hosts = await sh(rt, 'cat /etc/hosts');
    assert.match(hosts, /^192\.168\.9\.3\tpeer$/m);
    assert.doesNotMatch(hosts, /evil|bank|two words/);
  });
});

describe('tcp-connect endpoint', () => {
  it('QEMU dials the endpoint and frames carry a 4-byte big-endian length', async () => {
    const frames: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const server = net.createServer((sock) =>
      sock.on('data', (d: Buffer) => {
        pending = Buffer.concat([pending, d]);
        while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
          frames.push(pending.subarray(4, 4 + pending.readUInt32BE(0)));
          pending = pending.subarray(4 + pending.readUInt32BE(0));
        }
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const rt = await spawnRuntime(testImage(), { extra: ['--vpn-endpoint', `tcp-connect://127.0.0.1:${port}`] });
    try {
      await rt.client.hello();
      const good = { addr: '192.168.7.0', gateway: '', mask: '255.255.255.0', ifAddr: '192.168.7.2' };
      const r = await rt.client.request({ network: { networks: [good], hosts: {}, interface: VPN } });
      assert.deepEqual(r.kind === 'network' && r.endpoint, `tcp_stream:127.0.0.1:${port}`);
      await rt.client.run('/bin/sh', ['-c', 'ping -c 2 -W 1 192.168.7.9; true']);
      const arp = frames.find(
        (f) => f.readUInt16BE(12) === 0x0806 && f.subarray(38, 42).equals(Buffer.from([192, 168, 7, 9])),
      );
      assert.ok(arp, `an ARP request for 192.168.7.9 arrived as a length-prefixed frame (${frames.length} frames)`);
      assert.equal(arp.subarray(6, 12).toString('hex'), '9013c0a80702', 'sent from the NIC MAC 90:13:<address>');
      await rt.client.shutdown(20_000);
    } finally {
      await finish(rt);
      server.close();
    }
  });
});
