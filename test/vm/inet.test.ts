/**
 * INET (docs/networking.md) against a real stack: the runtime started as the ExeUnit starts it with both endpoint
 * options, CreateNetwork INET then VPN, and the INET endpoint bridged to a TAP device in a network namespace this
 * test creates, whose Linux stack plays the ExeUnit's 10.42.42.1 and serves HTTP (test/helpers/inet-gateway.ts).
 * Needs root; skipped with the reason otherwise. Traffic stays on this machine.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { finish, spawnRuntime, type ServiceRuntime } from '../helpers/service-runtime.js';
import { testImage } from '../helpers/vm.js';
import { InetGateway, unavailable } from '../helpers/inet-gateway.js';
import { TestVpnSwitch } from '../helpers/vpn-switch.js';

const VPN = 0;
const INET = 1;
/** The guest's INET MTU (src/network/plan.ts INET_MTU); the TAP gets the same. */
const MTU = 65266;
const INET_NETWORK = { addr: '10.42.42.1', gateway: '10.42.42.1', mask: '255.255.255.0', ifAddr: '10.42.42.2' };
const VPN_NETWORK = { addr: '192.168.8.0', gateway: '192.168.8.1', mask: '255.255.255.0', ifAddr: '192.168.8.2' };

const skip = unavailable();

async function sh(rt: ServiceRuntime, script: string, expectCode = 0): Promise<string> {
  const r = await rt.client.run('/bin/sh', ['-c', script]);
  const out = r.stdout.toString() + r.stderr.toString();
  assert.equal(r.code, expectCode, `${script}\n${out}`);
  return out;
}

describe('INET through a TAP device in a network namespace', { skip: skip ? `INET test ${skip}` : false }, () => {
  let gw: InetGateway;
  const sw = new TestVpnSwitch();
  let rt: ServiceRuntime;
  let www: string;
  let blobSum: string;

  before(async () => {
    gw = await InetGateway.create(MTU);
    const node = await sw.addNode('vm', VPN_NETWORK.ifAddr);
    www = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-www-'));
    const blob = crypto.randomBytes(8 * 1024 * 1024 + 123);
    blobSum = crypto.createHash('md5').update(blob).digest('hex');
    await fs.writeFile(path.join(www, 'blob'), blob);
    rt = await spawnRuntime(testImage(), {
      memGib: 0.75,
      extra: ['--vpn-endpoint', node.endpointUrl, '--inet-endpoint', gw.endpointUrl],
    });
    await rt.client.hello();
    // The ExeUnit's order: INET first, then VPN.
    const inet = await rt.client.request({ network: { networks: [INET_NETWORK], hosts: {}, interface: INET } });
    assert.equal(inet.kind, 'network', JSON.stringify(inet));
    const inetAddr = /^udp_datagram:(127\.0\.0\.1:[0-9]+)$/.exec(inet.kind === 'network' ? inet.endpoint : '')?.[1];
    assert.ok(inetAddr, JSON.stringify(inet));
    const vpn = await rt.client.request({ network: { networks: [VPN_NETWORK], hosts: {}, interface: VPN } });
    assert.equal(vpn.kind, 'network', JSON.stringify(vpn));
    sw.attach(node, (vpn.kind === 'network' ? vpn.endpoint : '').replace(/^udp_datagram:/, ''));
    await gw.attach(inetAddr);
    gw.spawnInNamespace(['busybox', 'httpd', '-f', '-p', '8080', '-h', www]);
    await gw.waitForHttp('http://10.42.42.1:8080/blob');
  });

  after(async () => {
    await rt?.client.shutdown(20_000).catch(() => undefined);
    if (rt) await finish(rt);
    await gw?.close();
    sw.close();
    if (www) await fs.rm(www, { recursive: true, force: true });
  });

  it('the INET NIC has 10.42.42.2/24, MAC 90:13:0a:2a:2a:02, the default route and the resolvers', async () => {
    const out = await sh(
      rt,
      'd=$(grep -l 90:13:0a:2a:2a:02 /sys/class/net/*/address | cut -d/ -f5); ' +
        'echo "dev=$d mtu=$(cat /sys/class/net/$d/mtu)"; ip -4 addr show dev $d; ip route; cat /etc/resolv.conf',
    );
    const dev = /dev=(\S+) mtu=(\d+)/.exec(out);
    assert.ok(dev, out);
    assert.equal(Number(dev[2]), MTU);
    assert.match(out, /inet 10\.42\.42\.2\/24/);
    assert.match(out, new RegExp(`default via 10\\.42\\.42\\.1 dev ${dev[1]}`));
    assert.match(out, /^nameserver 1\.1\.1\.1\nnameserver 8\.8\.8\.8\n/m);
  });

  it('fetches a file through the default route byte-exact, with full-MTU frames both ways', async () => {
    const out = await sh(rt, 'wget -q -O /tmp/blob http://10.42.42.1:8080/blob && md5sum </tmp/blob');
    assert.equal(out.trim().split(/\s+/)[0], blobSum);
    // A ping of MTU - 28 bytes of data is one IPv4 packet of exactly the MTU each way (no fragments).
    await sh(rt, `ping -c 2 -W 5 -s ${MTU - 28} 10.42.42.1`);
    const max = (xs: { size: number }[]): number => Math.max(...xs.map((f) => f.size));
    assert.equal(max(gw.toVm), MTU + 14, 'a full-MTU frame reached the VM (the HTTP data and the ping reply)');
    assert.equal(max(gw.fromVm), MTU + 14, 'a full-MTU frame left the VM (the ping request)');
    const outbound = gw.fromVm.filter((f) => f.etherType === 0x0800);
    assert.ok(
      outbound.some((f) => f.source === '10.42.42.2' && f.dest === '10.42.42.1'),
      'packets leave from 10.42.42.2 to the gateway',
    );
  });

  it('no VPN address leaves through the INET NIC', async () => {
    // A process that binds the VPN address and aims outside the VPN is refused, not routed out of the INET NIC.
    const out = await sh(rt, 'ping -c 1 -W 2 -I 192.168.8.2 10.42.42.1; echo rc=$?');
    assert.match(out, /rc=[12]/);
    assert.match(out, /No route to host|unreachable/i);
    const leaked = gw.fromVm.filter((f) => f.source !== undefined && f.source.startsWith('192.168.8.'));
    assert.deepEqual(leaked, [], 'no frame with a VPN source address came out of the INET NIC');
    const sources = new Set(
      gw.fromVm.filter((f) => f.etherType === 0x0800 || f.etherType === 0x0806).map((f) => f.source),
    );
    assert.deepEqual([...sources], ['10.42.42.2']);
  });
});
