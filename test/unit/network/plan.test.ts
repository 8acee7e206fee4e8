import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetworkError } from '../../../src/network/errors.js';
import { INET_MTU, planNic, VPN_MTU, type NetworkSpec } from '../../../src/network/plan.js';

const lan: NetworkSpec = { addr: '192.168.8.0', gateway: '192.168.8.1', mask: '255.255.255.0', ifAddr: '192.168.8.2' };
const flat: NetworkSpec = { addr: '10.77.0.0', gateway: '', mask: '255.255.0.0', ifAddr: '10.77.0.2' };

test('VPN: addresses in order, MAC from the first, MTU 1220, gateway routes only where a gateway is given', () => {
  const plan = planNic({ role: 'vpn', networks: [lan, flat], hosts: { 'node-b': '192.168.8.3', db_1: '10.77.0.9' } });
  assert.deepEqual(plan, {
    mac: '90:13:c0:a8:08:02',
    mtu: VPN_MTU,
    isolate: true,
    addresses: [
      { addr: '192.168.8.2', prefix: 24 },
      { addr: '10.77.0.2', prefix: 16 },
    ],
    routes: [{ dest: '192.168.8.0', prefix: 24, gateway: '192.168.8.1', metric: 101 }],
    hosts: [
      { addr: '192.168.8.3', name: 'node-b' },
      { addr: '10.77.0.9', name: 'db_1' },
    ],
    nameservers: [],
  });
  assert.equal(VPN_MTU, 1220);
});

test("INET: the ExeUnit's fixed network becomes 10.42.42.2/24, a default route and the public resolvers", () => {
  const inet = { addr: '10.42.42.1', gateway: '10.42.42.1', mask: '255.255.255.0', ifAddr: '10.42.42.2' };
  assert.deepEqual(planNic({ role: 'inet', networks: [inet], hosts: {} }), {
    mac: '90:13:0a:2a:2a:02',
    mtu: INET_MTU,
    isolate: false,
    addresses: [{ addr: '10.42.42.2', prefix: 24 }],
    routes: [{ dest: '0.0.0.0', prefix: 0, gateway: '10.42.42.1', metric: 0 }],
    hosts: [],
    nameservers: ['1.1.1.1', '8.8.8.8'],
  });
  // A frame of MTU + 14 bytes fits one loopback UDP datagram (65507) and the ExeUnit's 0xff00-byte frames.
  assert.ok(INET_MTU + 14 <= 65507 && INET_MTU + 14 <= 0xff00);
});

test('malformed or inconsistent requests are NETWORK_INVALID naming the field', () => {
  const cases: [string, Parameters<typeof planNic>[0], string][] = [
    ['no networks', { role: 'vpn', networks: [], hosts: {} }, 'CreateNetwork(VPN): no networks given'],
    [
      'bad address',
      { role: 'vpn', networks: [{ ...lan, ifAddr: '192.168.8.256' }], hosts: {} },
      'CreateNetwork(VPN): network 1: if_addr "192.168.8.256" is not an IPv4 address',
    ],
    [
      'leading zero',
      { role: 'vpn', networks: [{ ...lan, addr: '192.168.08.0' }], hosts: {} },
      'CreateNetwork(VPN): network 1: addr "192.168.08.0" is not an IPv4 address',
    ],
    [
      'IPv6',
      { role: 'vpn', networks: [{ ...lan, ifAddr: 'fd00::2' }], hosts: {} },
      'CreateNetwork(VPN): network 1: if_addr "fd00::2": IPv6 networks are not supported',
    ],
    [
      'non-contiguous mask',
      { role: 'vpn', networks: [{ ...lan, mask: '255.0.255.0' }], hosts: {} },
      'CreateNetwork(VPN): network 1: mask 255.0.255.0 is not contiguous',
    ],
    [
      '/32',
      { role: 'vpn', networks: [{ ...lan, mask: '255.255.255.255' }], hosts: {} },
      'CreateNetwork(VPN): network 1: mask 255.255.255.255 (/32) leaves no room for hosts',
    ],
    [
      'if_addr outside',
      { role: 'vpn', networks: [{ ...lan, ifAddr: '192.168.9.2' }], hosts: {} },
      'CreateNetwork(VPN): network 1: if_addr 192.168.9.2 is outside 192.168.8.0/24',
    ],
    [
      'if_addr is the broadcast address',
      { role: 'vpn', networks: [{ ...lan, ifAddr: '192.168.8.255' }], hosts: {} },
      'CreateNetwork(VPN): network 1: if_addr 192.168.8.255 is the broadcast address of 192.168.8.0/24',
    ],
    [
      'gateway outside',
      { role: 'vpn', networks: [flat, { ...lan, gateway: '10.0.0.1' }], hosts: {} },
      'CreateNetwork(VPN): network 2: gateway 10.0.0.1 is outside 192.168.8.0/24',
    ],
    [
      'gateway is the node',
      { role: 'vpn', networks: [{ ...lan, gateway: '192.168.8.2' }], hosts: {} },
      "CreateNetwork(VPN): network 1: gateway 192.168.8.2 is this node's own address",
    ],
    [
      'overlap',
      { role: 'vpn', networks: [lan, { ...flat, addr: '192.168.0.0', ifAddr: '192.168.0.9' }], hosts: {} },
      'CreateNetwork(VPN): network 2 (192.168.0.0/16) overlaps network 1 (192.168.8.0/24)',
    ],
    [
      'host name with a newline',
      { role: 'vpn', networks: [lan], hosts: { 'a\n1.2.3.4 bank': '192.168.8.3' } },
      'CreateNetwork(VPN): host name "a\\n1.2.3.4 bank" is not 1..253 characters of A-Z a-z 0-9 . - _',
    ],
    [
      'host name with a tab',
      { role: 'vpn', networks: [lan], hosts: { 'a\tb': '192.168.8.3' } },
      'CreateNetwork(VPN): host name "a\\tb" is not 1..253 characters of A-Z a-z 0-9 . - _',
    ],
    [
      'host address',
      { role: 'vpn', networks: [lan], hosts: { b: 'node-b' } },
      'CreateNetwork(VPN): address "node-b" of host b is not an IPv4 address',
    ],
    [
      'a loopback address',
      {
        role: 'vpn',
        networks: [{ addr: '127.0.0.0', gateway: '', mask: '255.0.0.0', ifAddr: '127.0.0.2' }],
        hosts: {},
      },
      'CreateNetwork(VPN): network 1: if_addr 127.0.0.2 is not a unicast address an interface can have',
    ],
    [
      'a multicast gateway',
      {
        role: 'vpn',
        networks: [{ addr: '224.0.0.0', gateway: '224.0.0.1', mask: '255.255.255.0', ifAddr: '224.0.0.2' }],
        hosts: {},
      },
      'CreateNetwork(VPN): network 1: if_addr 224.0.0.2 is not a unicast address an interface can have',
    ],
    [
      'INET with two networks',
      { role: 'inet', networks: [lan, flat], hosts: {} },
      'CreateNetwork(INET): 2 networks, the INET interface takes exactly one',
    ],
    [
      'INET without a gateway',
      { role: 'inet', networks: [flat], hosts: {} },
      'CreateNetwork(INET): the INET network needs a gateway (its default route)',
    ],
  ];
  for (const [name, req, message] of cases) {
    assert.throws(
      () => planNic(req),
      (err: unknown) =>
        err instanceof NetworkError &&
        err.code === 'NETWORK_INVALID' &&
        err.reply === 'bad-request' &&
        err.message === message,
      name,
    );
  }
});

test('hosts are bounded in number and bytes (they travel in one guest frame)', () => {
  const name = (i: number): string => `${'h'.repeat(240)}${i}`;
  const hosts = Object.fromEntries(Array.from({ length: 1100 }, (_, i) => [name(i), '192.168.8.3']));
  assert.throws(() => planNic({ role: 'vpn', networks: [lan], hosts }), /hosts take \d+ bytes, at most 262144/);
});

test('at most 16 networks', () => {
  const many = Array.from({ length: 17 }, (_, i) => ({
    addr: `10.${i}.0.0`,
    gateway: '',
    mask: '255.255.0.0',
    ifAddr: `10.${i}.0.2`,
  }));
  assert.equal(planNic({ role: 'vpn', networks: many.slice(0, 16), hosts: {} }).addresses.length, 16);
  assert.throws(() => planNic({ role: 'vpn', networks: many, hosts: {} }), /17 networks, at most 16/);
});
