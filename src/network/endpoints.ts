/**
 * The network interfaces of one activity, from the endpoint options to the CreateNetwork answers
 * (docs/networking.md). For each role given (VPN first, so it is the first NIC, as under ya-runtime-vm):
 *  - the NIC QEMU creates before the boot: a boot MAC (90:13:00:00:00:01 for the VPN, :02 for INET) by which the
 *    guest finds it, and its backend: the descriptor of a UDP socket connected to the ExeUnit's endpoint
 *    (udp-socket.ts), or a TCP stream QEMU opens itself (tcp-connect);
 *  - the answer to CreateNetwork: where the ExeUnit must send the VM's frames (`127.0.0.1:PORT` of that socket, or
 *    the same TCP address);
 *  - at most one CreateNetwork per interface: `claim` refuses a second one (and one for an interface without an
 *    endpoint) until a claim is released by a failed attempt.
 */
import { endpointOption, type Endpoint, type NetworkRole } from './endpoint.js';
import { NetworkError } from './errors.js';
import { openConnectedUdp, type ConnectedUdpSocket } from './udp-socket.js';

export type NicBackend = { kind: 'fd'; fd: number } | { kind: 'stream'; host: string; port: number };

export interface NicSpec {
  role: NetworkRole;
  /** The MAC QEMU gives the NIC; the guest finds the NIC by it. */
  bootMac: string;
  backend: NicBackend;
}

/** Where the ExeUnit must send the frames of an interface: a UDP `ip:port`, or the TCP stream's address. */
export type EndpointAnswer = { kind: 'udp'; address: string } | { kind: 'tcp'; address: string };

const BOOT_MAC: Record<NetworkRole, string> = { vpn: '90:13:00:00:00:01', inet: '90:13:00:00:00:02' };
const ROLES: readonly NetworkRole[] = ['vpn', 'inet'];

interface Iface {
  endpoint: Endpoint;
  socket?: ConnectedUdpSocket;
  state: 'free' | 'busy' | 'done';
}

export class NetworkEndpoints {
  private constructor(private readonly ifaces: Map<NetworkRole, Iface>) {}

  /** Opens a socket per UDP endpoint. Nothing is left open when it throws. */
  static async open(endpoints: Partial<Record<NetworkRole, Endpoint>>): Promise<NetworkEndpoints> {
    const ifaces = new Map<NetworkRole, Iface>();
    const eps = new NetworkEndpoints(ifaces);
    try {
      for (const role of ROLES) {
        const endpoint = endpoints[role];
        if (!endpoint) continue;
        const iface: Iface = { endpoint, state: 'free' };
        ifaces.set(role, iface);
        if (endpoint.transport === 'udp') iface.socket = await openConnectedUdp(endpoint, endpointOption(role));
      }
    } catch (err) {
      eps.close();
      throw err;
    }
    return eps;
  }

  /** The NICs for QEMU, VPN first. */
  nics(): NicSpec[] {
    return [...this.ifaces].map(([role, i]) => ({
      role,
      bootMac: BOOT_MAC[role],
      backend: i.socket
        ? { kind: 'fd', fd: i.socket.fd }
        : { kind: 'stream', host: i.endpoint.host, port: i.endpoint.port },
    }));
  }

  has(role: NetworkRole): boolean {
    return this.ifaces.has(role);
  }

  /** Starts the one CreateNetwork of `role`; `release()` after a failure lets a later request try again. */
  claim(role: NetworkRole): { bootMac: string; answer: EndpointAnswer; release(): void; done(): void } {
    const name = role.toUpperCase();
    const i = this.ifaces.get(role);
    if (!i)
      throw new NetworkError(
        'NETWORK_NO_ENDPOINT',
        `CreateNetwork(${name}): the runtime was started without ${endpointOption(role)}, so the VM has no ${name} interface`,
      );
    if (i.state !== 'free')
      throw new NetworkError(
        'NETWORK_ALREADY_CREATED',
        `CreateNetwork(${name}): the ${name} interface was ${i.state === 'done' ? 'already configured' : 'being configured'}; it takes one CreateNetwork`,
      );
    i.state = 'busy';
    const answer: EndpointAnswer = i.socket
      ? { kind: 'udp', address: i.socket.localAddress }
      : { kind: 'tcp', address: `${i.endpoint.host}:${i.endpoint.port}` };
    return {
      bootMac: BOOT_MAC[role],
      answer,
      release: () => void (i.state = 'free'),
      done: () => void (i.state = 'done'),
    };
  }

  /** Closes our copies of the sockets (QEMU keeps its own until it exits). Idempotent. */
  close(): void {
    for (const i of this.ifaces.values()) i.socket?.close();
  }
}
