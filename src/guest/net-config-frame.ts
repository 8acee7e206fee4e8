/**
 * The NET_CONFIG frame (docs/guest-protocol.md, "NET_CONFIG"): one virtio-net NIC's MAC, MTU, addresses, routes,
 * /etc/hosts lines and resolvers. Encoding, decoding and the value checks both directions share (a host name that
 * could add a line or a field to /etc/hosts never reaches the wire, and is refused if it comes off it). Pure.
 */
import { HOST_NAME_PATTERN, hasHostBits, parseIpv4 } from '../net-address.js';
import type { FieldReader, FieldWriter } from './wire.js';

export const NET_MAX_ADDRESSES = 16;
export const NET_MAX_ROUTES = 16;
export const NET_MAX_HOSTS = 4096;
export const NET_MAX_NAMESERVERS = 3;
export const NET_MIN_MTU = 68;
export const NET_MAX_MTU = 65535;
/** Route metrics pass through the route ioctl's `short rt_metric`, which the kernel stores minus one. */
export const NET_MAX_METRIC = 32766;
/** flags bit 0: packets from this NIC's addresses leave only through this NIC (init's own table and rules). */
export const NET_ISOLATE = 1;
const KNOWN_FLAGS = NET_ISOLATE;

export interface NetAddress {
  /** Dotted quad. */
  addr: string;
  /** 1..32 */
  prefix: number;
}

export interface NetRoute {
  /** Network address of the destination (no bits outside `prefix`); `0.0.0.0` with prefix 0 = default route. */
  dest: string;
  prefix: number;
  /** `0.0.0.0` = on-link. */
  gateway: string;
  metric: number;
}

export interface NetHost {
  addr: string;
  name: string;
}

export type NetConfigMsg = {
  type: 'NET_CONFIG';
  id: number;
  /** The MAC the NIC was given on QEMU's command line: init finds the NIC by it. */
  deviceMac: string;
  /** The MAC the NIC gets. */
  mac: string;
  mtu: number;
  /** NET_ISOLATE or 0. */
  flags: number;
  addresses: NetAddress[];
  routes: NetRoute[];
  hosts: NetHost[];
  nameservers: string[];
};

/** Every rule of the NET_CONFIG section; `err` builds the error (argument error when encoding, protocol when decoding). */
export function checkNetConfig(what: string, m: Omit<NetConfigMsg, 'id'>, err: (msg: string) => Error): void {
  const range = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw err(`${what}: ${name} ${v} is not in ${min}..${max}`);
  };
  const count = (name: string, n: number, max: number): void => {
    if (n > max) throw err(`${what}: ${name} has ${n} entries, more than ${max}`);
  };
  range('mtu', m.mtu, NET_MIN_MTU, NET_MAX_MTU);
  if (!Number.isInteger(m.flags) || m.flags < 0 || (m.flags & ~KNOWN_FLAGS) !== 0)
    throw err(`${what}: flags 0x${m.flags.toString(16)} has unknown bits`);
  if (m.addresses.length === 0) throw err(`${what}: addresses is empty`);
  count('addresses', m.addresses.length, NET_MAX_ADDRESSES);
  count('routes', m.routes.length, NET_MAX_ROUTES);
  count('hosts', m.hosts.length, NET_MAX_HOSTS);
  count('nameservers', m.nameservers.length, NET_MAX_NAMESERVERS);
  m.addresses.forEach((a, i) => range(`addresses[${i}].prefix`, a.prefix, 1, 32));
  m.routes.forEach((r, i) => {
    range(`routes[${i}].prefix`, r.prefix, 0, 32);
    range(`routes[${i}].metric`, r.metric, 0, NET_MAX_METRIC);
    const dest = parseIpv4(r.dest);
    if (dest !== undefined && hasHostBits(dest, r.prefix))
      throw err(`${what}: routes[${i}].dest ${r.dest} has bits outside its /${r.prefix}`);
  });
  m.hosts.forEach((h, i) => {
    if (!HOST_NAME_PATTERN.test(h.name))
      throw err(`${what}: hosts[${i}].name ${JSON.stringify(h.name)} is not 1..253 characters of A-Z a-z 0-9 . - _`);
  });
}

export function writeNetConfig(w: FieldWriter, m: NetConfigMsg): void {
  w.mac('device_mac', m.deviceMac).mac('mac', m.mac).u32('mtu', m.mtu).u32('flags', m.flags);
  w.u32('addresses count', m.addresses.length);
  m.addresses.forEach((a, i) => w.ipv4(`addresses[${i}].addr`, a.addr).u8(`addresses[${i}].prefix`, a.prefix));
  w.u32('routes count', m.routes.length);
  m.routes.forEach((r, i) =>
    w
      .ipv4(`routes[${i}].dest`, r.dest)
      .u8(`routes[${i}].prefix`, r.prefix)
      .ipv4(`routes[${i}].gateway`, r.gateway)
      .u32(`routes[${i}].metric`, r.metric),
  );
  w.u32('hosts count', m.hosts.length);
  m.hosts.forEach((h, i) => w.ipv4(`hosts[${i}].addr`, h.addr).str(`hosts[${i}].name`, h.name, true));
  w.u32('nameservers count', m.nameservers.length);
  m.nameservers.forEach((n, i) => w.ipv4(`nameservers[${i}]`, n));
}

/** Reads the fields; counts are checked before their entries are read, so a huge count fails fast. */
export function readNetConfig(r: FieldReader, id: number, what: string, err: (msg: string) => Error): NetConfigMsg {
  const list = <T>(name: string, max: number, one: (i: number) => T): T[] => {
    const n = r.u32(`${name} count`);
    if (n > max) throw err(`${what}: ${name} has ${n} entries, more than ${max}`);
    return Array.from({ length: n }, (_, i) => one(i));
  };
  const deviceMac = r.mac('device_mac');
  const mac = r.mac('mac');
  const mtu = r.u32('mtu');
  const flags = r.u32('flags');
  const addresses = list('addresses', NET_MAX_ADDRESSES, (i) => ({
    addr: r.ipv4(`addresses[${i}].addr`),
    prefix: r.u8(`addresses[${i}].prefix`),
  }));
  const routes = list('routes', NET_MAX_ROUTES, (i) => ({
    dest: r.ipv4(`routes[${i}].dest`),
    prefix: r.u8(`routes[${i}].prefix`),
    gateway: r.ipv4(`routes[${i}].gateway`),
    metric: r.u32(`routes[${i}].metric`),
  }));
  const hosts = list('hosts', NET_MAX_HOSTS, (i) => ({
    addr: r.ipv4(`hosts[${i}].addr`),
    name: r.str(`hosts[${i}].name`),
  }));
  const nameservers = list('nameservers', NET_MAX_NAMESERVERS, (i) => r.ipv4(`nameservers[${i}]`));
  const m: NetConfigMsg = { type: 'NET_CONFIG', id, deviceMac, mac, mtu, flags, addresses, routes, hosts, nameservers };
  checkNetConfig(what, m, err);
  return m;
}
