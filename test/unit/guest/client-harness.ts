/**
 * Test helper (not a test): a GuestClient wired to a FakeGuest over a unix socket pair, closed after each test, plus
 * a recording OutputSink and a RUN script hook. Shared by guest-client*.test.ts.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { afterEach } from 'node:test';
import type { OutputSink } from '../../../src/guest/process-io.js';
import { GuestClient, type RunSpec } from '../../../src/guest/guest-client.js';
import type { HostMessage } from '../../../src/guest/frames.js';
import { FakeGuest, socketPair } from './fake-guest.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

export async function setup(): Promise<{ client: GuestClient; guest: FakeGuest; guestSocket: Socket }> {
  const [a, b] = await socketPair();
  const client = new GuestClient(a);
  const guest = new FakeGuest(b);
  cleanups.push(() => {
    client.close();
    guest.close();
  });
  return { client, guest, guestSocket: b };
}

export const spec = (over: Partial<RunSpec> = {}): RunSpec => ({
  path: '/bin/sh',
  argv: ['sh', '-c', 'x'],
  env: ['PATH=/bin'],
  cwd: '/',
  uid: 0,
  gid: 0,
  stdin: false,
  ...over,
});

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A sink that records chunks and takes `delayMs` per chunk, checking calls never overlap. */
export function recordingSink(delayMs = 0): OutputSink & { log: string[]; bytes: number } {
  let active = false;
  const sink = {
    log: [] as string[],
    bytes: 0,
    stdout: (c: Uint8Array) => deliver('out', c),
    stderr: (c: Uint8Array) => deliver('err', c),
  };
  async function deliver(name: string, c: Uint8Array): Promise<void> {
    assert.equal(active, false, 'sink called before the previous chunk was delivered');
    active = true;
    if (delayMs > 0) await sleep(delayMs);
    sink.log.push(`${name}:${text(c)}`);
    sink.bytes += c.length;
    active = false;
  }
  return sink;
}

export function onRun(
  guest: FakeGuest,
  script: (run: Extract<HostMessage, { type: 'RUN' }>, g: FakeGuest) => Promise<void>,
): void {
  guest.handlers.set('RUN', async (msg, g) => {
    if (msg.type === 'RUN') await script(msg, g);
  });
}
