/**
 * The UDP socket QEMU uses for one NIC: bound to 127.0.0.1 on a port the kernel picks, and *connected* to the
 * ExeUnit's endpoint, so that the kernel delivers only datagrams from that address (no other local process can
 * inject frames into the VM) and QEMU can `send()` without a destination. QEMU gets the descriptor itself
 * (`-netdev dgram,local.type=fd`), so no frame passes through this process, and there is no window in which the
 * port is free for someone else to take (as there is when a probe socket is bound, closed and its port handed on).
 *
 * Written by hand because neither Node nor any npm package hands out a dgram socket's descriptor: Node's UDP
 * handle has it (`fd`) but no public getter. We read it there and stop Node's own reading on the handle
 * (`recvStop`), so QEMU is the only reader; our copy stays open, unread, until close(), which lets a second boot
 * attempt reuse the same socket and port. If a Node version lacks either, open() fails with a clear error.
 */
import dgram from 'node:dgram';
import { NetworkError } from './errors.js';
import type { Endpoint } from './endpoint.js';

/** What the ExeUnit uses for its own sockets (docs/networking.md); the kernel may cap it at net.core.*mem_max. */
const SOCKET_BUFFER_BYTES = 2 * 1024 * 1024;

export interface ConnectedUdpSocket {
  /** Our descriptor of the socket, to hand to QEMU. */
  readonly fd: number;
  /** `127.0.0.1:PORT`: where the ExeUnit must send frames for the VM (the CreateNetwork answer). */
  readonly localAddress: string;
  close(): void;
}

interface UdpHandle {
  fd?: unknown;
  recvStop?: () => number;
}

function handleOf(sock: dgram.Socket): UdpHandle | undefined {
  for (const sym of Object.getOwnPropertySymbols(sock)) {
    if (sym.description !== 'state symbol') continue;
    const state = (sock as unknown as Record<symbol, unknown>)[sym];
    if (typeof state === 'object' && state !== null && 'handle' in state) {
      const h = (state as { handle: unknown }).handle;
      if (typeof h === 'object' && h !== null) return h as UdpHandle;
    }
  }
  return undefined;
}

export async function openConnectedUdp(remote: Endpoint, what: string): Promise<ConnectedUdpSocket> {
  const sock = dgram.createSocket({ type: 'udp4' });
  const fail = (why: string, cause?: unknown): NetworkError => {
    sock.close();
    return new NetworkError(
      'ENDPOINT_SOCKET_FAILED',
      `${what}: cannot open a UDP socket towards ${remote.host}:${remote.port}: ${why}`,
      { cause },
    );
  };
  // A datagram read before recvStop (none should come: the ExeUnit sends only after our CreateNetwork answer) is
  // dropped, never an unhandled event.
  sock.on('message', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: '127.0.0.1', port: 0, exclusive: true }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      sock.connect(remote.port, remote.host, (err?: Error) => (err ? reject(err) : resolve()));
    });
  } catch (err) {
    throw fail(err instanceof Error ? err.message : String(err), err);
  }
  const handle = handleOf(sock);
  if (!handle || typeof handle.fd !== 'number' || handle.fd < 0 || typeof handle.recvStop !== 'function') {
    throw fail(`this Node version (${process.version}) does not expose the socket's descriptor`);
  }
  handle.recvStop();
  // Nothing reads or sends on our copy any more; an error on it (none is expected) must not be uncaught.
  sock.on('error', () => undefined);
  try {
    sock.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    sock.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch {
    // best effort: the kernel's limit applies
  }
  const fd = handle.fd;
  const { port } = sock.address();
  let closed = false;
  return {
    fd,
    localAddress: `127.0.0.1:${port}`,
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}
