import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, ResponseError } from 'vscode-jsonrpc/node';
import { connectControl, type ControlClient } from '../../../src/control/client.js';
import {
  ControlClosedError,
  ControlError,
  ControlRequestError,
  ControlSocketError,
} from '../../../src/control/errors.js';
import { ControlErrorCodes } from '../../../src/control/protocol.js';
import { startControlServer, type ControlServer } from '../../../src/control/server.js';
import { FakeActivity } from '../../helpers/fake-activity.js';
import { waitFor } from '../../helpers/wait.js';

const log = pino({ level: 'silent' });

const until = (cond: () => boolean, what: string): Promise<void> =>
  waitFor(what, cond, { timeoutMs: 3000, intervalMs: 5 });

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-'));
}

describe('control socket', () => {
  let dir: string;
  let sock: string;
  let activity: FakeActivity;
  let server: ControlServer;
  let shutdownRequests = 0;
  const clients: ControlClient[] = [];

  async function client(): Promise<ControlClient> {
    const c = await connectControl(sock);
    clients.push(c);
    return c;
  }

  before(async () => {
    dir = tmpDir();
    sock = path.join(dir, 'control.sock');
    activity = new FakeActivity({}, { firstPid: 100 });
    server = await startControlServer({
      socketPath: sock,
      activity,
      log,
      onShutdownRequested: () => void shutdownRequests++,
    });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the socket with mode 0600', () => {
    const st = fs.statSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });

  it('runs a command with streamed output in order, exit after the last chunk', async () => {
    const c = await client();
    const events: string[] = [];
    let started = 0;
    const status = await c.run(
      { bin: 'echo', argv: ['echo', 'a', 'b', 'c', 'd'], workDir: '/tmp', env: ['A=1'] },
      {
        onStdout: (b) => void events.push(`out:${b}`),
        onStderr: (b) => void events.push(`err:${b}`),
        onStart: (pid) => (started = pid),
      },
    );
    events.push('exit');
    assert.deepEqual(status, { code: 0, signal: null });
    assert.deepEqual(events, ['out:a', 'out:b', 'out:c', 'out:d', 'err:done', 'exit']);
    assert.ok(started >= 100);
    assert.deepEqual(activity.specs.at(-1), {
      bin: 'echo',
      argv: ['echo', 'a', 'b', 'c', 'd'],
      workDir: '/tmp',
      env: ['A=1'],
    });
  });

  it('streams large output intact (chunks over 1 MiB split) with an async consumer', async () => {
    const c = await client();
    const parts: Buffer[] = [];
    const status = await c.run(
      { bin: 'flood', argv: ['flood', '20', String(64 * 1024)] },
      { onStdout: async (b) => void parts.push(b) },
    );
    assert.equal(status.code, 0);
    const all = Buffer.concat(parts);
    assert.equal(all.length, 20 * 64 * 1024);
    for (let i = 0; i < 20; i++) assert.equal(all[i * 64 * 1024 + 5], i);
    const sizes: number[] = [];
    const big = await c.run(
      { bin: 'flood', argv: ['flood', '2', String(1024 * 1024 + 7)] },
      { onStdout: (b) => void sizes.push(b.length) },
    );
    assert.equal(big.code, 0);
    assert.deepEqual(sizes, [1024 * 1024, 7, 1024 * 1024, 7]);
  });

  it('applies backpressure: a stalled consumer stalls the sink', async () => {
    const c = await client();
    const before = activity.delivered;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let got = 0;
    const run = c.run(
      { bin: 'flood', argv: ['flood', '32', String(128 * 1024)] },
      {
        onStdout: async () => {
          got++;
          if (got === 1) await gate;
        },
      },
    );
    await until(() => got === 1, 'first chunk');
    await new Promise((r) => setTimeout(r, 300));
    const delivered = activity.delivered - before;
    assert.ok(delivered < 12, `sink ran ahead of a stalled client: ${delivered} of 32 chunks delivered`);
    release();
    assert.equal((await run).code, 0);
    assert.equal(got, 32);
  });

  it('carries why a binary could not start (startFailure) to the client', async () => {
    const c = await client();
    await assert.rejects(c.run({ bin: 'noexec', argv: ['noexec'] }), (err: unknown) => {
      assert.ok(err instanceof ControlRequestError);
      assert.equal(err.rpcCode, ControlErrorCodes.NotFound);
      assert.equal(err.startFailure, 'not-executable');
      return true;
    });
    await assert.rejects(
      c.run({ bin: 'missing', argv: ['missing'] }),
      (err: unknown) => err instanceof ControlRequestError && err.startFailure === undefined,
    );
  });

  it('reports a missing binary as NotFound with the error chain', async () => {
    const c = await client();
    await assert.rejects(c.run({ bin: 'missing', argv: ['missing'] }), (err: unknown) => {
      assert.ok(err instanceof ControlRequestError);
      assert.equal(err.rpcCode, ControlErrorCodes.NotFound);
      assert.equal(err.reply, 'not-found');
      assert.equal(err.message, 'cannot run missing: no such file in PATH');
      return true;
    });
    await assert.rejects(c.run({ bin: 'bad', argv: [] }), (err: unknown) => {
      assert.ok(err instanceof ControlRequestError);
      assert.equal(err.rpcCode, ControlErrorCodes.InvalidParams);
      assert.equal(err.reply, 'bad-request');
      return true;
    });
    await assert.rejects(c.run({ bin: 'boom', argv: [] }), (err: unknown) => {
      assert.ok(err instanceof ControlRequestError);
      assert.equal(err.rpcCode, ControlErrorCodes.InternalError);
      assert.equal(err.message, 'guest channel broken');
      return true;
    });
  });

  it('fails run when the process dies with the VM', async () => {
    const c = await client();
    await assert.rejects(c.run({ bin: 'crash', argv: [] }), /process \d+: QEMU exited with code 1: guest panic/);
  });

  it('kills a process by signal name or number', async () => {
    const c = await client();
    let pid = 0;
    const run = c.run({ bin: 'sleep', argv: ['sleep'] }, { onStart: (p) => (pid = p) });
    await until(() => pid > 0, 'pid');
    await c.kill(pid, 'term');
    assert.deepEqual(await run, { code: 143, signal: 15 });
    assert.deepEqual(activity.kills.at(-1), [pid, 15]);
    await assert.rejects(
      c.kill(pid, 9),
      (err: unknown) => err instanceof ControlRequestError && err.reply === 'not-found',
    );
    await assert.rejects(c.kill(pid, 'SIGNOPE'), /unknown signal "SIGNOPE"/);
  });

  it('forwards stdin from a Readable and closes it at the end', async () => {
    const c = await client();
    const out: Buffer[] = [];
    const status = await c.run(
      { bin: 'cat', argv: ['cat'] },
      { stdin: Readable.from([Buffer.from('hello '), Buffer.from('world')]), onStdout: (b) => void out.push(b) },
    );
    assert.equal(status.code, 0);
    assert.equal(Buffer.concat(out).toString(), 'hello world');
    assert.equal(activity.specs.at(-1)?.stdin, true);
  });

  it('refuses stdin for a process of another client', async () => {
    const a = await client();
    const b = await client();
    let pid = 0;
    const run = a.run({ bin: 'cat', argv: ['cat'], stdin: true }, { onStart: (p) => (pid = p) });
    await until(() => pid > 0, 'pid');
    await assert.rejects(b.writeStdin(pid, Buffer.from('x')), (err: unknown) => {
      assert.ok(err instanceof ControlRequestError);
      assert.equal(err.rpcCode, ControlErrorCodes.UnknownProcess);
      return true;
    });
    await a.closeStdin(pid);
    assert.equal((await run).code, 0);
  });

  it('answers status', async () => {
    const c = await client();
    assert.deepEqual(await c.status(), {
      state: 'ready',
      accel: 'tcg',
      processes: activity.running(),
      image: 'test.gvmi',
    });
  });

  it('calls onShutdownRequested after answering shutdown', async () => {
    const c = await client();
    const n = shutdownRequests;
    await c.shutdown();
    await until(() => shutdownRequests === n + 1, 'shutdown callback');
  });

  it('rejects unknown fields and bad types with InvalidParams naming the field', async () => {
    const socket = net.connect(sock);
    await new Promise((r) => socket.once('connect', r));
    const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    conn.listen();
    try {
      const call = async (method: string, params: unknown): Promise<ResponseError> => {
        try {
          await conn.sendRequest(method, params);
        } catch (err) {
          assert.ok(err instanceof ResponseError);
          return err;
        }
        throw new Error(`${method} succeeded`);
      };
      let err = await call('run', { bin: 'echo', argv: [], colour: 'red' });
      assert.equal(err.code, ControlErrorCodes.InvalidParams);
      assert.equal(err.message, 'run: unknown field "colour"');
      err = await call('run', { bin: 'echo', argv: ['x', 3] });
      assert.equal(err.code, ControlErrorCodes.InvalidParams);
      assert.match(err.message, /^run: field "argv\.1": .*expected string/);
      err = await call('kill', { pid: 1, signal: 0 });
      assert.match(err.message, /^kill: field "signal"/);
      err = await call('stdin', { pid: 1, data: 'not base64!' });
      assert.match(err.message, /^stdin: field "data": expected base64/);
      err = await call('status', { verbose: true });
      assert.equal(err.code, ControlErrorCodes.InvalidParams);
      assert.equal(err.message, 'status: unknown field "verbose"');
      err = await call('run', [{ bin: 'echo', argv: [] }]);
      assert.equal(err.message, 'run: Invalid input: expected object, received array');
      err = await call('run', { bin: 'echo' });
      assert.equal(err.message, 'run: field "argv": Invalid input: expected array, received undefined');
      err = await call('reboot', {});
      assert.equal(err.code, -32601);
      assert.equal(activity.specs.filter((s) => s.bin === 'echo' && s.argv.length < 2).length, 0);
    } finally {
      conn.dispose();
    }
  });

  it('kills the processes of a client that disconnects', async () => {
    const c = await client();
    const other = await client();
    let mine = 0;
    let theirs = 0;
    const run = c.run({ bin: 'sleep', argv: ['sleep'] }, { onStart: (p) => (mine = p) });
    const otherRun = other.run({ bin: 'sleep', argv: ['sleep'] }, { onStart: (p) => (theirs = p) });
    await until(() => mine > 0 && theirs > 0, 'pids');
    c.close();
    await assert.rejects(run, ControlClosedError);
    await until(() => activity.kills.some(([p, s]) => p === mine && s === 9), 'SIGKILL of the orphan');
    assert.ok(activity.running().includes(theirs), 'the other client’s process must survive');
    assert.ok(!activity.kills.some(([p]) => p === theirs));
    await other.kill(theirs, 9);
    await otherRun;
  });

  it('releases the sink when a stalled client disconnects', async () => {
    const c = await client();
    const before = activity.delivered;
    let pid = 0;
    const run = c.run(
      { bin: 'flood', argv: ['flood', '-1', String(128 * 1024)] },
      { onStart: (p) => (pid = p), onStdout: () => new Promise<void>(() => undefined) },
    );
    await until(() => activity.delivered > before, 'first chunk');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(activity.delivered - before < 12);
    c.close();
    await assert.rejects(run, ControlClosedError);
    // The sink stops blocking (output is dropped) and the orphan is SIGKILLed.
    await until(() => activity.kills.some(([p, s]) => p === pid && s === 9), 'SIGKILL of the orphan');
    await until(() => !activity.running().includes(pid), 'orphan ended');
  });

  it('disconnects a peer announcing an oversized frame', async () => {
    const socket = net.connect(sock);
    await new Promise((r) => socket.once('connect', r));
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => undefined);
    socket.write('Content-Length: 999999999\r\n\r\n{');
    await closed;
    // The server keeps serving others.
    const c = await client();
    assert.equal((await c.status()).state, 'ready');
  });
});

describe('control socket lifecycle', () => {
  it('says when nobody listens', async () => {
    const dir = tmpDir();
    try {
      await assert.rejects(connectControl(path.join(dir, 'control.sock')), (err: unknown) => {
        assert.ok(err instanceof ControlSocketError);
        assert.match(err.message, /^no running `start` for this workdir/);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a stale socket, refuses a live one, leaves other files alone', async () => {
    const dir = tmpDir();
    const sock = path.join(dir, 'control.sock');
    try {
      // A socket whose owner was SIGKILLed: the file stays, nobody answers.
      const child = spawn(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`,
      ]);
      await new Promise((r) => child.once('exit', r));
      assert.ok(fs.lstatSync(sock).isSocket());
      await assert.rejects(connectControl(sock), /^ControlSocketError: no running `start` for this workdir/);

      const activity = new FakeActivity({}, { firstPid: 100 });
      const opts = { socketPath: sock, activity, log, onShutdownRequested: () => undefined };
      const first = await startControlServer(opts);
      await assert.rejects(startControlServer(opts), /another start is serving this workdir/);
      const c = await connectControl(sock);
      assert.equal((await c.status()).state, 'ready');

      // close() disconnects clients (pending runs fail) and removes the socket.
      const run = c.run({ bin: 'sleep', argv: [] });
      await until(() => activity.running().length === 1, 'process');
      const runFailed = assert.rejects(run, ControlClosedError);
      await first.close();
      await runFailed;
      assert.ok(!fs.existsSync(sock));
      await until(() => activity.kills.length === 1, 'kill on close');
      c.close();

      fs.writeFileSync(sock, 'not a socket');
      await assert.rejects(startControlServer(opts), /exists and is not a socket/);
      assert.equal(fs.readFileSync(sock, 'utf8'), 'not a socket');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves a workdir whose path is over 107 bytes through a relative path', async () => {
    const dir = tmpDir();
    const deep = path.join(dir, 'w'.repeat(60), 'x'.repeat(60));
    fs.mkdirSync(deep, { recursive: true });
    const sock = path.join(deep, 'control.sock');
    const cwd = process.cwd();
    process.chdir(deep);
    try {
      assert.ok(Buffer.byteLength(sock) > 107);
      const server = await startControlServer({
        socketPath: sock,
        activity: new FakeActivity({}, { firstPid: 100 }),
        log,
        onShutdownRequested: () => undefined,
      });
      assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
      const c = await connectControl(sock);
      assert.equal((await c.status()).image, 'test.gvmi');
      c.close();
      await server.close();
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('client: holds output sent before the run reply, and rejects malformed notifications', async () => {
    const dir = tmpDir();
    const sock = path.join(dir, 'control.sock');
    let badFd = false;
    const fake = net.createServer((socket) => {
      const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
      conn.onRequest('run', async () => {
        await conn.sendNotification('output', { pid: 5, fd: 1, data: Buffer.from('early').toString('base64') });
        await conn.sendNotification('exit', { pid: 5, code: 3, signal: null });
        if (badFd) await conn.sendNotification('output', { pid: 6, fd: 3, data: '' });
        return { pid: badFd ? 6 : 5 };
      });
      conn.listen();
    });
    await new Promise<void>((r) => fake.listen(sock, r));
    try {
      const c = await connectControl(sock);
      const out: string[] = [];
      assert.deepEqual(await c.run({ bin: 'x', argv: [] }, { onStdout: (b) => void out.push(b.toString()) }), {
        code: 3,
        signal: null,
      });
      assert.deepEqual(out, ['early']);
      badFd = true;
      await assert.rejects(c.run({ bin: 'x', argv: [] }), /malformed message from start: output: field "fd"/);
      c.close();
    } finally {
      await new Promise((r) => fake.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves a workdir over 107 bytes that no relative path reaches, through a short symlink (operator run from elsewhere)', async () => {
    const dir = tmpDir();
    const deep = path.join(dir, 'w'.repeat(60), 'x'.repeat(60));
    fs.mkdirSync(deep, { recursive: true });
    const sock = path.join(deep, 'control.sock');
    assert.ok(
      Buffer.byteLength(path.relative(process.cwd(), sock)) > 107,
      'neither the absolute nor the relative path fits',
    );
    try {
      const server = await startControlServer({
        socketPath: sock,
        activity: new FakeActivity({}, { firstPid: 100 }),
        log,
        onShutdownRequested: () => undefined,
      });
      assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
      const c = await connectControl(sock);
      assert.equal((await c.status()).image, 'test.gvmi');
      c.close();
      await server.close();
      assert.equal(fs.existsSync(sock), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a long path to a workdir where nothing listens: "no running start"', async () => {
    const sock = path.join('/nonexistent', 'p'.repeat(120), 'control.sock');
    await assert.rejects(connectControl(sock), (err: unknown) => {
      assert.ok(err instanceof ControlError);
      assert.equal(err.code, 'CONTROL_NOT_RUNNING');
      return true;
    });
  });
});
