/**
 * Binds a connected unix socket to a vscode-jsonrpc MessageConnection (framing and messages, above the socket).
 * Incoming bytes pass through a FrameGuard first, so a peer announcing an oversized frame is disconnected before
 * its body is buffered. Writes go through vscode-jsonrpc's SocketMessageWriter (one-slot queue; a write's promise
 * resolves once the socket accepted the bytes, i.e. the kernel buffer had room). `dispose()` of the returned
 * connection destroys the socket; closing the socket closes the connection (its pending requests are rejected).
 */
import type net from 'node:net';
import { Transform } from 'node:stream';
import {
  createMessageConnection,
  SocketMessageWriter,
  StreamMessageReader,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Logger } from 'pino';
import { FrameGuard } from './frame-guard.js';
import { MAX_FRAME_BYTES } from './protocol.js';

export interface SocketConnection {
  connection: MessageConnection;
  /** The readable the reader listens to: pause() it to stop taking messages (backpressure to the peer). */
  input: Transform;
}

export function connectionForSocket(socket: net.Socket, log: Logger, maxFrame = MAX_FRAME_BYTES): SocketConnection {
  const guard = new FrameGuard(maxFrame);
  const input = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        guard.check(chunk);
        callback(null, chunk);
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  input.on('error', (err) => {
    log.warn({ err }, 'control: bad frame from peer; disconnecting');
    socket.destroy();
  });
  socket.on('close', () => input.destroy());
  socket.on('error', (err) => log.debug({ err }, 'control: socket error'));
  socket.pipe(input);
  const reader = new StreamMessageReader(input);
  // vscode-jsonrpc re-arms a 10 s "partial message" timer for as long as a half-received message sits in the reader,
  // even after dispose(): a peer gone mid-message would keep the process alive. We do not use those events.
  reader.partialMessageTimeout = 0;
  const connection = createMessageConnection(reader, new SocketMessageWriter(socket), {
    error: (m) => log.debug(`control: jsonrpc: ${m}`),
    warn: (m) => log.debug(`control: jsonrpc: ${m}`),
    info: (m) => log.trace(`control: jsonrpc: ${m}`),
    log: (m) => log.trace(`control: jsonrpc: ${m}`),
  });
  return { connection, input };
}
