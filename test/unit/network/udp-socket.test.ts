/**
 * The socket QEMU gets: connected to the ExeUnit's address, so a process holding it receives only from there. The
 * test hands the descriptor to a child Node process (which adopts it with dgram's `bind({fd})`), sends one datagram
 * from the connected peer and one from another socket, and checks that only the first arrives.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { test } from 'node:test';
import { openConnectedUdp } from '../../../src/network/udp-socket.js';

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

test('the socket is bound on 127.0.0.1, connected to the endpoint, and receives only from it', async () => {
  const exeunit = await bound();
  const other = await bound();
  const port = exeunit.address().port;
  const sock = await openConnectedUdp({ transport: 'udp', host: '127.0.0.1', port }, '--vpn-endpoint');
  try {
    assert.match(sock.localAddress, /^127\.0\.0\.1:[0-9]+$/);
    const local = Number(sock.localAddress.split(':')[1]);
    // /proc/net/udp: local and remote address in hex; state 01 = connected.
    const hex = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');
    const line = fs
      .readFileSync('/proc/net/udp', 'utf8')
      .split('\n')
      .find((l) => l.includes(`0100007F:${hex(local)} `));
    assert.ok(line, 'the socket is listed');
    assert.match(line, new RegExp(`0100007F:${hex(local)} 0100007F:${hex(port)} 01 `));

    const child = spawn(
      process.execPath,
      [
        '-e',
        "const s=require('dgram').createSocket('udp4');s.on('message',m=>process.stdout.write(m+'\\n'));" +
          "s.bind({fd:3},()=>process.stdout.write('ready\\n'));setTimeout(()=>process.exit(0),1500);",
      ],
      { stdio: ['ignore', 'pipe', 'inherit', sock.fd] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    other.send('from-another-process', local, '127.0.0.1');
    exeunit.send('from-the-exeunit', local, '127.0.0.1');
    await new Promise((r) => child.on('exit', r));
    assert.deepEqual(out.trim().split('\n'), ['ready', 'from-the-exeunit']);
  } finally {
    sock.close();
    exeunit.close();
    other.close();
  }
});

test('a refused endpoint is ENDPOINT_SOCKET_FAILED naming the option', async () => {
  await assert.rejects(
    openConnectedUdp({ transport: 'udp', host: '0.0.0.0', port: 0 }, '--vpn-endpoint'),
    (err: unknown) =>
      err instanceof Error &&
      (err as { code?: string }).code === 'ENDPOINT_SOCKET_FAILED' &&
      err.message.startsWith('--vpn-endpoint: cannot open a UDP socket towards 0.0.0.0:0'),
  );
});
