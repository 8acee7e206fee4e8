/**
 * From a CreateNetwork request to the configuration of one guest NIC (docs/networking.md, "What the guest gets").
 * Pure: validates every field and says exactly what is wrong, so a bad request becomes an Error reply and nothing
 * reaches the guest.
 *
 * VPN: each network's `if_addr` with the network's prefix (the first as the primary address, the others as aliases);
 * MAC `90:13:<bytes of the first if_addr>` (what the ExeUnit's switch and the requestor's stack expect), MTU 1220;
 * for each network with a gateway the route `network via gateway` (metric 101, beside the kernel's on-link route of
 * the address, as ya-runtime-vm does); without a gateway the network is on-link only; `hosts` as /etc/hosts lines;
 * isolated, so that a packet with a VPN address as its source never leaves through the INET NIC.
 * INET: one network; its `if_addr`, a default route via its gateway, MTU INET_MTU, and the resolvers the original
 * writes (1.1.1.1, 8.8.8.8), which the ExeUnit allows and redirects.
 */
import {
  HOST_NAME_PATTERN,
  formatIpv4,
  formatMac,
  hasHostBits,
  ipv4Bytes,
  maskPrefix,
  networkOf,
  parseIpv4,
  prefixMask,
} from '../net-address.js';
import { NetworkError } from './errors.js';
import type { NetworkRole } from './endpoint.js';

/** MTU of the VPN NIC: VPN frames ride UDP through relays (ya-runtime-vm lowered it from 1400 to 1220). */
export const VPN_MTU = 1220;
/**
 * MTU of the INET NIC. One frame is one UDP datagram on loopback, whose payload is at most 65507 bytes, so a frame
 * of MTU + 14 must fit in it: at most 65493. The ExeUnit's user-space stack takes up to 0xff00 (65280) bytes per
 * frame, header included, so 65280 - 14.
 */
export const INET_MTU = 65266;
/** Metric of the `network via gateway` route: above the kernel's on-link route (0), as the original. */
export const GATEWAY_ROUTE_METRIC = 101;
export const INET_NAMESERVERS = ['1.1.1.1', '8.8.8.8'] as const;
/** Networks in one CreateNetwork: each becomes an address on the NIC. */
export const MAX_NETWORKS = 16;
/** Entries in `hosts`, and their bytes in all (the guest frame that carries them is at most 1 MiB). */
export const MAX_HOSTS = 4096;
export const MAX_HOSTS_BYTES = 256 * 1024;

export interface NetworkSpec {
  addr: string;
  gateway: string;
  mask: string;
  ifAddr: string;
}

export interface CreateNetworkRequest {
  role: NetworkRole;
  networks: NetworkSpec[];
  hosts: Record<string, string>;
}

export interface NicPlan {
  mac: string;
  mtu: number;
  /** The VPN NIC is isolated: a VPN address never leaves through another NIC (docs/networking.md). */
  isolate: boolean;
  addresses: { addr: string; prefix: number }[];
  routes: { dest: string; prefix: number; gateway: string; metric: number }[];
  hosts: { addr: string; name: string }[];
  nameservers: string[];
}

interface Net {
  network: number;
  prefix: number;
  ifAddr: number;
  gateway: number | undefined;
}

export function planNic(req: CreateNetworkRequest): NicPlan {
  const what = `CreateNetwork(${req.role.toUpperCase()})`;
  const bad = (why: string): NetworkError => new NetworkError('NETWORK_INVALID', `${what}: ${why}`);
  if (req.networks.length === 0) throw bad('no networks given');
  if (req.networks.length > MAX_NETWORKS) throw bad(`${req.networks.length} networks, at most ${MAX_NETWORKS}`);
  if (req.role === 'inet' && req.networks.length !== 1)
    throw bad(`${req.networks.length} networks, the INET interface takes exactly one`);
  const nets = req.networks.map((n, i) => checkNetwork(n, `network ${i + 1}`, bad));
  nets.forEach((a, i) =>
    nets.slice(0, i).forEach((b, j) => {
      const p = Math.min(a.prefix, b.prefix);
      if (networkOf(a.network, p) === networkOf(b.network, p))
        throw bad(`network ${i + 1} (${cidr(a)}) overlaps network ${j + 1} (${cidr(b)})`);
    }),
  );
  const hosts = Object.entries(req.hosts);
  if (hosts.length > MAX_HOSTS) throw bad(`${hosts.length} hosts, at most ${MAX_HOSTS}`);
  const hostBytes = hosts.reduce((n, [name]) => n + 8 + Buffer.byteLength(name), 0);
  if (hostBytes > MAX_HOSTS_BYTES) throw bad(`hosts take ${hostBytes} bytes, at most ${MAX_HOSTS_BYTES}`);
  const hostLines = hosts.map(([name, ip]) => {
    if (!HOST_NAME_PATTERN.test(name))
      throw bad(`host name ${JSON.stringify(name)} is not 1..253 characters of A-Z a-z 0-9 . - _`);
    const addr = parseIpv4(ip);
    if (addr === undefined) throw bad(`address ${JSON.stringify(ip)} of host ${name} is not an IPv4 address`);
    return { addr: formatIpv4(addr), name };
  });
  const first = nets[0]!;
  const addresses = nets.map((n) => ({ addr: formatIpv4(n.ifAddr), prefix: n.prefix }));
  if (req.role === 'inet') {
    if (first.gateway === undefined) throw bad('the INET network needs a gateway (its default route)');
    return {
      mac: macFor(first.ifAddr),
      mtu: INET_MTU,
      isolate: false,
      addresses,
      routes: [{ dest: '0.0.0.0', prefix: 0, gateway: formatIpv4(first.gateway), metric: 0 }],
      hosts: hostLines,
      nameservers: [...INET_NAMESERVERS],
    };
  }
  return {
    mac: macFor(first.ifAddr),
    mtu: VPN_MTU,
    isolate: true,
    addresses,
    routes: nets.flatMap((n) =>
      n.gateway === undefined
        ? []
        : [
            {
              dest: formatIpv4(n.network),
              prefix: n.prefix,
              gateway: formatIpv4(n.gateway),
              metric: GATEWAY_ROUTE_METRIC,
            },
          ],
    ),
    hosts: hostLines,
    nameservers: [],
  };
}

function checkNetwork(n: NetworkSpec, name: string, bad: (why: string) => NetworkError): Net {
  const ip = (field: string, v: string): number => {
    if (v.includes(':')) throw bad(`${name}: ${field} ${JSON.stringify(v)}: IPv6 networks are not supported`);
    const a = parseIpv4(v);
    if (a === undefined) throw bad(`${name}: ${field} ${JSON.stringify(v)} is not an IPv4 address`);
    return a;
  };
  // Addresses no interface can have: this network (0/8), loopback (127/8), multicast (224/4), reserved (240/4).
  const unicast = (field: string, a: number): void => {
    const top = a >>> 24;
    if (top === 0 || top === 127 || top >= 224)
      throw bad(`${name}: ${field} ${formatIpv4(a)} is not a unicast address an interface can have`);
  };
  const addr = ip('addr', n.addr);
  const mask = ip('mask', n.mask);
  const prefix = maskPrefix(mask);
  if (prefix === undefined) throw bad(`${name}: mask ${n.mask} is not contiguous`);
  if (prefix === 0 || prefix > 30) throw bad(`${name}: mask ${n.mask} (/${prefix}) leaves no room for hosts`);
  // The ExeUnit's INET network is given as 10.42.42.1/24: the network is the address under its mask.
  const network = networkOf(addr, prefix);
  const net: Net = { network, prefix, ifAddr: ip('if_addr', n.ifAddr), gateway: undefined };
  const inside = (field: string, a: number): void => {
    const shown = `${field} ${formatIpv4(a)}`;
    if (networkOf(a, prefix) !== network) throw bad(`${name}: ${shown} is outside ${cidr(net)}`);
    if (!hasHostBits(a, prefix)) throw bad(`${name}: ${shown} is the network address of ${cidr(net)}`);
    if (a === (network | ~prefixMask(prefix)) >>> 0)
      throw bad(`${name}: ${shown} is the broadcast address of ${cidr(net)}`);
  };
  unicast('if_addr', net.ifAddr);
  inside('if_addr', net.ifAddr);
  if (n.gateway !== '') {
    const gw = ip('gateway', n.gateway);
    unicast('gateway', gw);
    inside('gateway', gw);
    if (gw === net.ifAddr) throw bad(`${name}: gateway ${n.gateway} is this node's own address`);
    net.gateway = gw;
  }
  return net;
}

function cidr(n: { network: number; prefix: number }): string {
  return `${formatIpv4(n.network)}/${n.prefix}`;
}

/** `90:13:` and the four bytes of the address. */
export function macFor(addr: number): string {
  return formatMac(Uint8Array.of(0x90, 0x13, ...ipv4Bytes(addr)));
}
