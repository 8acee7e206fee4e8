/**
 * A small VPN switch for tests, doing what yagna's ExeUnit does for its VM (docs/networking.md, "The ExeUnit's
 * side"), for several VMs on this host at once. Shares nothing with src/.
 *
 *  - Each node has one UDP socket on 127.0.0.1 (the ExeUnit binds it before it spawns the runtime; its address is
 *    the runtime's `--vpn-endpoint udp://127.0.0.1:PORT`). The node's VM address is learned from the CreateNetwork
 *    answer (`attach`), and frames for that VM are sent from the node's own socket, as the ExeUnit does (QEMU's
 *    socket only accepts them from there).
 *  - Frames from a VM: shorter than 14 bytes dropped; ARP (IPv4 only) goes to the node owning the target address;
 *    IPv4 to the node owning the destination, or to every other node for a broadcast; anything else is dropped.
 *  - Counters per node, and `strays`: datagrams a node's socket got from an address other than its VM.
 */
import dgram from 'node:dgram';

export interface SwitchNode {
  readonly name: string;
  /** This node's VPN addresses (dotted quads), one per network it is on. */
  readonly ips: readonly string[];
  /** `udp://127.0.0.1:PORT`: the runtime's --vpn-endpoint. */
  readonly endpointUrl: string;
  /** Frames received from this node's VM / sent to it. */
  fromVm: number;
  toVm: number;
  /** Frames from this VM that went nowhere (unknown destination, other EtherType, too short). */
  dropped: number;
  /** Datagrams that reached this node's socket from an address other than its VM's. */
  strays: number;
}

interface Node extends SwitchNode {
  socket: dgram.Socket;
  vm?: { address: string; port: number };
}

const ETH_ARP = 0x0806;
const ETH_IPV4 = 0x0800;

export class TestVpnSwitch {
  private readonly nodes: Node[] = [];

  /** Binds the node's socket; call before spawning its runtime. */
  async addNode(name: string, ...ips: string[]): Promise<SwitchNode> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const node: Node = {
      name,
      ips,
      endpointUrl: `udp://127.0.0.1:${socket.address().port}`,
      fromVm: 0,
      toVm: 0,
      dropped: 0,
      strays: 0,
      socket,
    };
    socket.on('message', (frame, rinfo) => this.onFrame(node, frame, rinfo));
    socket.on('error', () => undefined);
    this.nodes.push(node);
    return node;
  }

  /** The CreateNetwork answer of the node's runtime: `127.0.0.1:PORT` (a bare address, no scheme). */
  attach(node: SwitchNode, udpDatagram: string): void {
    const m = /^([0-9.]+):([0-9]+)$/.exec(udpDatagram);
    if (!m) throw new Error(`not an ip:port answer: ${JSON.stringify(udpDatagram)}`);
    this.find(node).vm = { address: m[1]!, port: Number(m[2]) };
  }

  close(): void {
    for (const n of this.nodes) n.socket.close();
  }

  private find(node: SwitchNode): Node {
    const n = this.nodes.find((x) => x === node);
    if (!n) throw new Error(`not a node of this switch: ${node.name}`);
    return n;
  }

  private onFrame(from: Node, frame: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!from.vm || rinfo.address !== from.vm.address || rinfo.port !== from.vm.port) {
      from.strays++;
      return;
    }
    from.fromVm++;
    const targets = this.route(from, frame);
    if (targets.length === 0) from.dropped++;
    for (const to of targets) {
      if (!to.vm) continue;
      to.toVm++;
      to.socket.send(frame, to.vm.port, to.vm.address);
    }
  }

  private route(from: Node, frame: Buffer): Node[] {
    if (frame.length < 14) return [];
    const type = frame.readUInt16BE(12);
    if (type === ETH_ARP) {
      // ARP for IPv4 over Ethernet: ptype at 16, target protocol address at 38.
      if (frame.length < 42 || frame.readUInt16BE(16) !== ETH_IPV4) return [];
      return this.byIp(ipAt(frame, 38), from);
    }
    if (type === ETH_IPV4) {
      if (frame.length < 34) return [];
      const dst = ipAt(frame, 30);
      if (dst === '255.255.255.255' || frame.subarray(0, 6).every((b) => b === 0xff))
        return this.nodes.filter((n) => n !== from);
      return this.byIp(dst, from);
    }
    return [];
  }

  private byIp(ip: string, from: Node): Node[] {
    return this.nodes.filter((n) => n !== from && n.ips.includes(ip));
  }
}

function ipAt(frame: Buffer, at: number): string {
  return `${frame[at]}.${frame[at + 1]}.${frame[at + 2]}.${frame[at + 3]}`;
}
