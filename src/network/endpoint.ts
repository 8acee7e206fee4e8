/**
 * The endpoint options of `start` (docs/networking.md, "Endpoints"): `--vpn-endpoint URL` and `--inet-endpoint URL`,
 * where the ExeUnit has bound the socket that carries the interface's Ethernet frames.
 *  - `udp://IPv4:PORT`: what the ExeUnit sends; one datagram = one frame.
 *  - `tcp-connect://IPv4:PORT`: frames with a 4-byte big-endian length prefix on a TCP stream (QEMU's stream netdev).
 *  - `unix://PATH` (2-byte native-endian prefix) and `tcp-listen://` are refused: no current ExeUnit sends them, and
 *    the first would need a relay in this process, on the data path.
 */
import { parseIpv4 } from '../net-address.js';
import { NetworkError } from './errors.js';

export type NetworkRole = 'vpn' | 'inet';

export interface Endpoint {
  transport: 'udp' | 'tcp';
  /** IPv4 literal. */
  host: string;
  port: number;
}

const OPTION: Record<NetworkRole, string> = { vpn: '--vpn-endpoint', inet: '--inet-endpoint' };

export function endpointOption(role: NetworkRole): string {
  return OPTION[role];
}

export function parseEndpoint(role: NetworkRole, text: string): Endpoint {
  const opt = OPTION[role];
  const bad = (why: string): NetworkError =>
    new NetworkError('ENDPOINT_INVALID', `${opt} ${JSON.stringify(text)}: ${why}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(text)?.[1];
  if (scheme === undefined) throw bad('expected udp://IP:PORT');
  if (scheme === 'unix' || scheme === 'tcp-listen') {
    throw new NetworkError(
      'ENDPOINT_UNSUPPORTED',
      `${opt} ${JSON.stringify(text)}: ${scheme}:// endpoints are not supported (use udp://IP:PORT, what the ExeUnit sends)`,
    );
  }
  if (scheme !== 'udp' && scheme !== 'tcp-connect') throw bad(`unknown scheme ${scheme}:// (expected udp://IP:PORT)`);
  const m = /^([0-9.]+):([0-9]{1,5})\/?$/.exec(text.slice(scheme.length + 3));
  if (!m) throw bad('expected IPv4:PORT after the scheme, nothing else');
  const host = m[1]!;
  const port = Number(m[2]);
  const addr = parseIpv4(host);
  if (addr === undefined) throw bad(`${host} is not an IPv4 address`);
  // The ExeUnit binds its endpoint on this machine; our socket is bound to 127.0.0.1 and can reach loopback only.
  if (addr >>> 24 !== 127) throw bad(`${host} is not a loopback address (the ExeUnit's endpoint is on 127.0.0.0/8)`);
  if (port < 1 || port > 65535) throw bad(`port ${port} is not in 1..65535`);
  return { transport: scheme === 'udp' ? 'udp' : 'tcp', host, port };
}
