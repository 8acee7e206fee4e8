/**
 * Test helper (not a test): a scriptable stand-in for init on the far end of a real unix socket pair. It decodes the
 * host's frames with the production GuestChannel, answers HELLO/MOUNT/SYNC itself unless a test overrides a type,
 * and streams process output the way init does: chunks of at most min(credit, 65536) bytes, waiting for CREDIT at 0.
 * It records every frame and checks the host never grants more than it was sent.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GuestChannel } from '../../../src/guest/channel.js';
import {
  INITIAL_CREDIT,
  MAX_OUTPUT_CHUNK,
  PROTOCOL_VERSION,
  type GuestMessage,
  type HostMessage,
  type Message,
} from '../../../src/guest/frames.js';

/** Two connected net.Sockets over a unix socket in a fresh tmp dir. */
export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guest-test-'));
  const file = path.join(dir, 's');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(file, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(file);
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const remote = await accepted;
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return [client, remote];
}

type Handler = (msg: HostMessage, guest: FakeGuest) => void | Promise<void>;

export class FakeGuest {
  readonly channel: GuestChannel;
  readonly received: HostMessage[] = [];
  readonly handlers = new Map<HostMessage['type'], Handler>();
  /** Credit per proc_id as the guest sees it. */
  readonly credit = new Map<number, number>();
  /** Output bytes sent per proc_id. */
  readonly sent = new Map<number, number>();
  private readonly creditWaiters = new Map<number, (() => void)[]>();
  private readonly frameWaiters: { pred: (m: HostMessage) => boolean; resolve: (m: HostMessage) => void }[] = [];

  constructor(socket: net.Socket) {
    this.channel = new GuestChannel(socket);
    this.channel.onMessage((m) => this.receive(m));
  }

  send(msg: GuestMessage): Promise<void> {
    return this.channel.send(msg);
  }

  /** Resolves with the first frame (already received or future) matching pred. */
  waitFor(pred: (m: HostMessage) => boolean): Promise<HostMessage> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.frameWaiters.push({ pred, resolve }));
  }

  /** Streams `data` as OUTPUT events within the process's credit, like init. */
  async output(procId: number, fd: 1 | 2, data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      let credit = this.creditOf(procId);
      while (credit === 0) {
        await new Promise<void>((resolve) =>
          this.creditWaiters.set(procId, [...(this.creditWaiters.get(procId) ?? []), resolve]),
        );
        credit = this.creditOf(procId);
      }
      const n = Math.min(credit, MAX_OUTPUT_CHUNK, data.length - at);
      this.credit.set(procId, credit - n);
      this.sent.set(procId, (this.sent.get(procId) ?? 0) + n);
      await this.send({ type: 'OUTPUT', id: 0, procId, fd, data: data.slice(at, at + n) });
      at += n;
    }
  }

  creditOf(procId: number): number {
    return this.credit.get(procId) ?? INITIAL_CREDIT;
  }

  close(): void {
    this.channel.close();
  }

  private receive(m: Message): void {
    assert.ok(
      m.type !== 'OK' &&
        m.type !== 'ERROR' &&
        m.type !== 'HELLO_OK' &&
        m.type !== 'OUTPUT' &&
        m.type !== 'EXIT' &&
        m.type !== 'LOG',
      `host sent a guest message ${m.type}`,
    );
    const msg = m as HostMessage;
    this.received.push(msg);
    if (msg.type === 'CREDIT') {
      assert.equal(msg.id, 0, 'CREDIT is sent with id 0');
      const credit = this.creditOf(msg.procId) + msg.bytes;
      assert.ok(
        credit <= INITIAL_CREDIT,
        `host granted process ${msg.procId} credit up to ${credit} > ${INITIAL_CREDIT}`,
      );
      this.credit.set(msg.procId, credit);
      const waiters = this.creditWaiters.get(msg.procId) ?? [];
      this.creditWaiters.delete(msg.procId);
      for (const w of waiters) w();
    } else {
      assert.notEqual(msg.id, 0, `${msg.type} request with id 0`);
    }
    for (const w of [...this.frameWaiters]) {
      if (w.pred(msg)) {
        this.frameWaiters.splice(this.frameWaiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
    const handler = this.handlers.get(msg.type);
    if (handler) {
      void Promise.resolve(handler(msg, this)).catch(() => {});
      return;
    }
    if (msg.type === 'HELLO')
      void this.send({ type: 'HELLO_OK', id: msg.id, version: PROTOCOL_VERSION, description: 'fake-init 0.0.0' }).catch(
        () => {},
      );
    else if (msg.type !== 'CREDIT') void this.send({ type: 'OK', id: msg.id }).catch(() => {});
  }
}
