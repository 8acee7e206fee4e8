// GuestClient requests against a fake init: hello, mounts, errors, stdin, kill, logs, and channel loss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuntimeError } from '../../../src/errors.js';
import { GuestChannelClosedError, GuestProtocolError, GuestRequestError } from '../../../src/guest/errors.js';
import { PROTOCOL_VERSION, type HostMessage } from '../../../src/guest/frames.js';
import { onRun, recordingSink, setup, sleep, spec, utf8 } from './client-harness.js';
import type { FakeGuest } from './fake-guest.js';

test('hello exchanges versions', async () => {
  const { client, guest } = await setup();
  assert.deepEqual(await client.hello(), { version: PROTOCOL_VERSION, description: 'fake-init 0.0.0' });
  assert.deepEqual(guest.received[0], { type: 'HELLO', id: 1, version: PROTOCOL_VERSION });
});

test('hello rejects another protocol version', async () => {
  const { client, guest } = await setup();
  // A version-3 init reads no MOUNT flags: a host of version 4 must refuse it.
  guest.handlers.set('HELLO', (m, g) =>
    g.send({ type: 'HELLO_OK', id: m.id, version: 3, description: 'ya-init 0.1.0' }),
  );
  await assert.rejects(
    client.hello(),
    (err: unknown) =>
      err instanceof GuestProtocolError &&
      err.code === 'GUEST_VERSION_MISMATCH' &&
      err.message === 'guest init "ya-init 0.1.0" speaks protocol version 3, the host 4',
  );
});

test('mountRoot, mount and sync send the documented fields', async () => {
  const { client, guest } = await setup();
  await client.mountRoot({ imageSerial: 'img', upperSerial: '', tmpfsSize: 1024, hostname: 'vm' });
  await client.mount({ fstype: 'virtiofs', source: 'vol0', target: '/golem/input', options: '' });
  await client.mount({ fstype: 'tmpfs', source: 'tmpfs', target: '/data', options: 'size=1024', seed: true });
  await client.sync();
  assert.deepEqual(guest.received, [
    { type: 'MOUNT_ROOT', id: 1, imageSerial: 'img', upperSerial: '', tmpfsSize: 1024n, hostname: 'vm' },
    { type: 'MOUNT', id: 2, fstype: 'virtiofs', source: 'vol0', target: '/golem/input', options: '', flags: 0 },
    { type: 'MOUNT', id: 3, fstype: 'tmpfs', source: 'tmpfs', target: '/data', options: 'size=1024', flags: 1 },
    { type: 'SYNC', id: 4 },
  ]);
});

test('netConfig sends NET_CONFIG; init refusing it rejects with its errno and message', async () => {
  const { client, guest } = await setup();
  const spec = {
    deviceMac: '90:13:00:00:00:01',
    mac: '90:13:c0:a8:08:02',
    mtu: 1220,
    flags: 1,
    addresses: [{ addr: '192.168.8.2', prefix: 24 }],
    routes: [{ dest: '192.168.8.0', prefix: 24, gateway: '192.168.8.1', metric: 101 }],
    hosts: [{ addr: '192.168.8.3', name: 'node-b' }],
    nameservers: [],
  };
  await client.netConfig(spec);
  assert.deepEqual(guest.received, [{ type: 'NET_CONFIG', id: 1, ...spec }]);
  guest.handlers.set('NET_CONFIG', (m, g) =>
    g.send({ type: 'ERROR', id: m.id, errno: 19, message: 'no NIC with MAC 90:13:00:00:00:01' }),
  );
  await assert.rejects(client.netConfig(spec), (err: unknown) => {
    assert.ok(err instanceof GuestRequestError);
    assert.equal(err.errnoName, 'ENODEV');
    assert.equal(err.message, 'NET_CONFIG for the NIC 90:13:00:00:00:01: no NIC with MAC 90:13:00:00:00:01 (ENODEV)');
    return true;
  });
  // A host name that would add a line to /etc/hosts never reaches the wire.
  await assert.rejects(
    client.netConfig({ ...spec, hosts: [{ addr: '192.168.8.3', name: 'x\n1.2.3.4 y' }] }),
    /hosts\[0\]\.name "x\\n1\.2\.3\.4 y" is not 1\.\.253 characters/,
  );
  assert.equal(guest.received.length, 2);
});

test('ERROR reply to RUN rejects with errno and message; ENOENT is not-found; proc ids are not reused', async () => {
  const { client, guest } = await setup();
  guest.handlers.set('RUN', (m, g) =>
    g.send({ type: 'ERROR', id: m.id, errno: 2, message: 'exec sh2: No such file or directory' }),
  );
  await assert.rejects(client.run(spec({ path: 'sh2' }), recordingSink()), (err: unknown) => {
    assert.ok(err instanceof GuestRequestError && err instanceof RuntimeError);
    assert.equal(err.code, 'GUEST_REQUEST_FAILED');
    assert.equal(err.op, 'RUN');
    assert.equal(err.errno, 2);
    assert.equal(err.errnoName, 'ENOENT');
    assert.equal(err.reply, 'not-found');
    assert.equal(err.guestMessage, 'exec sh2: No such file or directory');
    assert.equal(err.message, 'RUN sh2: exec sh2: No such file or directory (ENOENT)');
    return true;
  });
  guest.handlers.set('RUN', (m, g) =>
    g.send({ type: 'ERROR', id: m.id, errno: 13, message: 'exec /x: Permission denied' }),
  );
  await assert.rejects(client.run(spec({ path: '/x' }), recordingSink()), { reply: 'internal', errnoName: 'EACCES' });
  guest.handlers.delete('RUN');
  const p = await client.run(spec(), recordingSink());
  assert.equal(p.procId, 3);
});

test('channel closed mid-run: exit and pending requests reject with GuestChannelClosedError', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => {
    await g.send({ type: 'OK', id: run.id });
    await g.output(run.procId, 1, utf8('partial'));
  });
  guest.handlers.set('SYNC', () => {}); // never answered
  const sink = recordingSink();
  const p = await client.run(spec({ path: '/bin/sleep' }), sink);
  const sync = client.sync();
  await guest.waitFor((m) => m.type === 'SYNC');
  await sleep(10);
  let closedWith: Error | undefined | null = null;
  client.onClose((cause) => (closedWith = cause));
  guest.close(); // QEMU died
  await assert.rejects(
    p.exit,
    (err: unknown) =>
      err instanceof GuestChannelClosedError &&
      err.code === 'GUEST_CHANNEL_CLOSED' &&
      err.message === 'process 1 (/bin/sleep): guest channel closed before it exited',
  );
  await assert.rejects(sync, {
    name: 'GuestChannelClosedError',
    message: 'SYNC: guest channel closed before the reply',
  });
  assert.deepEqual(sink.log, ['out:partial'], 'output received before the close is still delivered');
  assert.equal(closedWith, undefined);
  await assert.rejects(client.sync(), { name: 'GuestChannelClosedError', message: 'SYNC: guest channel is closed' });
  await assert.rejects(client.run(spec(), sink), { name: 'GuestChannelClosedError' });
});

test('a malformed guest frame breaks the channel; the protocol error is the cause', async () => {
  const { client, guest, guestSocket } = await setup();
  onRun(guest, async (run, g) => void (await g.send({ type: 'OK', id: run.id })));
  const p = await client.run(spec(), recordingSink());
  guest.handlers.set('SYNC', () => {});
  const sync = client.sync();
  await guest.waitFor((m) => m.type === 'SYNC');
  // OUTPUT with fd 3.
  guestSocket.write(Uint8Array.of(7, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3, 0x68, 0x69));
  const check = (err: unknown): boolean => {
    assert.ok(err instanceof GuestChannelClosedError);
    assert.ok(err.cause instanceof GuestProtocolError);
    assert.equal(err.cause.message, 'OUTPUT frame (id 0): fd 3 is not 1 (stdout) or 2 (stderr)');
    return true;
  };
  await assert.rejects(p.exit, check);
  await assert.rejects(sync, check);
});

test('protocol violations from the guest break the channel', async () => {
  const cases: [string, (g: FakeGuest) => Promise<void>, string][] = [
    ['reply for an unknown id', (g) => g.send({ type: 'OK', id: 99 }), 'OK reply for unknown request id 99'],
    [
      'ERROR for a frame init could not parse',
      (g) => g.send({ type: 'ERROR', id: 0, errno: 71, message: 'bad frame header' }),
      'guest rejected a frame (id 0): bad frame header (EPROTO)',
    ],
    [
      'output for an unknown process',
      (g) => g.send({ type: 'OUTPUT', id: 0, procId: 5, fd: 1, data: utf8('x') }),
      'OUTPUT for process 5, which is not running',
    ],
    [
      'output beyond the window',
      async (g) => {
        await g.send({ type: 'OUTPUT', id: 0, procId: 1, fd: 1, data: new Uint8Array(65536) });
        for (let i = 0; i < 4; i++)
          await g.send({ type: 'OUTPUT', id: 0, procId: 1, fd: 1, data: new Uint8Array(65536) });
      },
      'OUTPUT of 65536 bytes for process 1 exceeds its remaining credit of 0 bytes',
    ],
  ];
  for (const [name, act, message] of cases) {
    const { client, guest } = await setup();
    onRun(guest, async (run, g) => void (await g.send({ type: 'OK', id: run.id })));
    const p = await client.run(spec(), { stdout: () => new Promise(() => {}), stderr: async () => {} });
    const closed = new Promise<Error | undefined>((r) => client.onClose(r));
    await act(guest);
    const cause = await closed;
    assert.ok(cause instanceof GuestProtocolError, name);
    assert.equal(cause.message, message, name);
    void p;
  }
});

test('a reply of the wrong type breaks the channel', async () => {
  const { client, guest } = await setup();
  guest.handlers.set('HELLO', (m, g) => g.send({ type: 'OK', id: m.id }));
  await assert.rejects(
    client.hello(),
    (err: unknown) =>
      err instanceof GuestChannelClosedError &&
      (err.cause as Error).message === 'OK reply to HELLO (id 1), expected HELLO_OK',
  );
});

test('stdin: chunks of 64 KiB, one in flight, in order, then close', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => void (await g.send({ type: 'OK', id: run.id })));
  let inFlight = 0;
  let maxInFlight = 0;
  guest.handlers.set('STDIN', async (m, g) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await sleep(2);
    inFlight--;
    await g.send({ type: 'OK', id: m.id });
  });
  const p = await client.run(spec({ stdin: true }), recordingSink());
  const data = new Uint8Array(150_000).map((_, i) => i & 0xff);
  const w1 = p.writeStdin(data);
  const w2 = p.writeStdin(utf8('tail'));
  const c = p.closeStdin();
  await Promise.all([w1, w2, c]);
  const stdin = guest.received.filter((m): m is Extract<HostMessage, { type: 'STDIN' }> => m.type === 'STDIN');
  assert.deepEqual(
    stdin.map((m) => m.data.length),
    [65536, 65536, 150_000 - 131072, 4, 0],
  );
  assert.deepEqual(Buffer.concat(stdin.slice(0, 3).map((m) => m.data)), Buffer.from(data));
  assert.equal(maxInFlight, 1);
  assert.ok(stdin.every((m) => m.procId === p.procId));
  await assert.rejects(p.writeStdin(utf8('x')), {
    code: 'GUEST_BAD_ARGUMENT',
    message: 'stdin of process 1 (/bin/sh) is already closed',
  });
  await p.closeStdin(); // idempotent
  assert.equal(guest.received.filter((m) => m.type === 'STDIN').length, 5);
});

test('stdin of a process started without it is refused locally', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => void (await g.send({ type: 'OK', id: run.id })));
  const p = await client.run(spec(), recordingSink());
  await assert.rejects(p.writeStdin(utf8('x')), {
    reply: 'bad-request',
    message: 'process 1 (/bin/sh) was started without stdin',
  });
  assert.equal(guest.received.find((m) => m.type === 'RUN' && m.flags === 0)?.type, 'RUN');
});

test('kill: KILL frame; ESRCH is not-found; bad signals refused locally', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => void (await g.send({ type: 'OK', id: run.id })));
  const p = await client.run(spec(), recordingSink());
  await p.kill(15);
  assert.deepEqual(guest.received.at(-1), { type: 'KILL', id: 2, procId: 1, signal: 15 });
  guest.handlers.set('KILL', (m, g) =>
    g.send({ type: 'ERROR', id: m.id, errno: 3, message: 'kill 1: No such process' }),
  );
  await assert.rejects(p.kill(9), {
    reply: 'not-found',
    errnoName: 'ESRCH',
    message: 'KILL process 1 (/bin/sh): kill 1: No such process (ESRCH)',
  });
  await assert.rejects(p.kill(65), {
    code: 'GUEST_BAD_ARGUMENT',
    message: 'KILL process 1 (/bin/sh): signal 65 is not in 1..64',
  });
  await assert.rejects(p.kill(0), { code: 'GUEST_BAD_ARGUMENT' });
});

test('bad run arguments are refused before anything is sent', async () => {
  const { client, guest } = await setup();
  await assert.rejects(client.run(spec({ argv: ['a\0b'] }), recordingSink()), {
    code: 'GUEST_BAD_ARGUMENT',
    reply: 'bad-request',
  });
  await client.sync();
  assert.deepEqual(
    guest.received.map((m) => m.type),
    ['SYNC'],
  );
});

test('LOG events reach onLog listeners', async () => {
  const { client, guest } = await setup();
  const logs: string[] = [];
  client.onLog((level, message) => logs.push(`${level}:${message}`));
  await guest.send({ type: 'LOG', id: 0, level: 0, message: 'hi' });
  await guest.send({ type: 'LOG', id: 0, level: 2, message: 'dying' });
  await client.sync(); // round trip: the logs were dispatched before the OK
  assert.deepEqual(logs, ['info:hi', 'fatal:dying']);
});

test('close() rejects a pending request and the exit of a running process', async () => {
  const { client, guest } = await setup();
  onRun(guest, async (run, g) => void (await g.send({ type: 'OK', id: run.id })));
  const p = await client.run(spec(), recordingSink());
  guest.handlers.set('SHUTDOWN', () => {});
  const s = client.shutdown();
  await guest.waitFor((m) => m.type === 'SHUTDOWN');
  client.close();
  await assert.rejects(
    s,
    (err: unknown) => err instanceof GuestChannelClosedError && (err.cause as Error).message === 'closed by the host',
  );
  await assert.rejects(p.exit, { name: 'GuestChannelClosedError' });
  assert.equal(client.closed, true);
});

test('shutdown resolves on OK', async () => {
  const { client, guest } = await setup();
  await client.shutdown();
  assert.deepEqual(guest.received, [{ type: 'SHUTDOWN', id: 1 }]);
});
