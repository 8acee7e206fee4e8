import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { pino } from 'pino';
import type { ActivityApi } from '../../../src/activity-api.js';
import { RuntimeError } from '../../../src/errors.js';
import { FrameBuffer } from '../../../src/api/frame-codec.js';
import { encodeFrame, encodeVarint } from '../../helpers/delimited.js';
import {
  NetworkInterface,
  RequestSchema,
  ResponseSchema,
  Response_ErrorCode,
  type Response,
} from '../../../src/api/generated/runtime_pb.js';
import { SERVICE_EXIT, runService, type ServiceOptions } from '../../../src/api/service.js';
import { FakeActivity } from '../../helpers/fake-activity.js';
import { fromHex, loadFrameVectors, toHex } from '../../helpers/runtime-api-vectors.js';

type RequestInit = MessageInitShape<typeof RequestSchema>;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** runService over an in-memory stdin and a stdout that parses every byte as frames and acknowledges writes a tick
 * later (a consumer slower than us). */
function harness(boot: ServiceOptions['boot'] | FakeActivity, extra: Partial<ServiceOptions> = {}) {
  const input = new PassThrough();
  const frames = new FrameBuffer();
  const responses: Response[] = [];
  const rawFrames: string[] = [];
  let wake: (() => void) | undefined;
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      frames.append(new Uint8Array(chunk));
      for (let f = frames.tryRead(); f; f = frames.tryRead()) {
        rawFrames.push(toHex(encodeFrame(f)));
        responses.push(fromBinary(ResponseSchema, f));
      }
      wake?.();
      setImmediate(cb);
    },
  });
  const bootFn = boot instanceof FakeActivity ? async () => boot : boot;
  const exit = runService({ input, output, boot: bootFn, log: pino({ level: 'silent' }), ...extra });
  let read = 0;
  const h = {
    input,
    responses,
    rawFrames,
    exit,
    send(init: RequestInit): void {
      input.write(encodeFrame(toBinary(RequestSchema, create(RequestSchema, init))));
    },
    async next(): Promise<Response> {
      while (read >= responses.length) await new Promise<void>((resolve) => (wake = resolve));
      return responses[read++]!;
    },
    async take(n: number): Promise<Response[]> {
      const out: Response[] = [];
      for (let i = 0; i < n; i++) out.push(await h.next());
      return out;
    },
    /** Everything written to stdout parsed as whole frames. */
    assertOnlyFrames(): void {
      assert.equal(frames.pending, 0, 'stdout holds bytes that are not a whole frame');
    },
  };
  return h;
}

function errorOf(r: Response): { id: bigint; code: Response_ErrorCode; message: string } {
  assert.equal(r.command.case, 'error', `expected an error, got ${r.command.case}`);
  return { id: r.id, code: r.command.value.code, message: r.command.value.message };
}

const hello: RequestInit = { id: 2n, command: { case: 'hello', value: { version: '0.1.0' } } };
const run = (id: bigint, bin: string, args: string[] = []): RequestInit => ({
  id,
  command: { case: 'run', value: { bin, args: [bin.split('/').pop()!, ...args] } },
});
const shutdown = (id: bigint): RequestInit => ({ id, command: { case: 'shutdown', value: {} } });

describe('service: Hello', () => {
  it('boots once, then replies hello with the request id (vector bytes)', async () => {
    let boots = 0;
    const activity = new FakeActivity();
    const h = harness(async () => (boots++, activity));
    h.send(hello);
    await h.next();
    h.send({ ...hello, id: 3n });
    await h.next();
    assert.equal(boots, 1);
    const v = loadFrameVectors().find((x) => x.direction === 'response' && x.description.startsWith('Hello'));
    assert.equal(h.rawFrames[0], toHex(v!.frame));
    h.input.end();
    assert.equal(await h.exit, SERVICE_EXIT.ok);
  });

  it('answers a boot failure with the error chain and keeps serving; the next Hello boots again', async () => {
    let boots = 0;
    const activity = new FakeActivity({ '/bin/true': async () => ({ code: 0, signal: null }) });
    const h = harness(async () => {
      if (boots++ === 0)
        throw new RuntimeError('VM_START', 'VM failed to start', { cause: new Error('QEMU exited with code 1') });
      return activity;
    });
    h.send(hello);
    assert.deepEqual(errorOf(await h.next()), {
      id: 2n,
      code: Response_ErrorCode.INTERNAL,
      message: 'VM failed to start: QEMU exited with code 1',
    });
    h.send(run(3n, '/bin/true'));
    assert.deepEqual(errorOf(await h.next()), {
      id: 3n,
      code: Response_ErrorCode.INTERNAL,
      message: 'the VM failed to start: VM failed to start: QEMU exited with code 1',
    });
    h.send({ ...hello, id: 4n });
    assert.equal((await h.next()).command.case, 'hello');
    h.send(shutdown(5n));
    assert.equal((await h.next()).command.case, 'shutdown');
    assert.equal(await h.exit, SERVICE_EXIT.ok);
    assert.deepEqual(activity.calls, ['shutdown']);
  });

  it('runs the start entrypoint before answering Hello; a request during boot waits for it', async () => {
    const order: string[] = [];
    const activity = new FakeActivity({ '/bin/true': async () => ({ code: 0, signal: null }) });
    const h = harness(
      async () => {
        await new Promise((r) => setTimeout(r, 20));
        order.push('boot');
        return activity;
      },
      { onStartEntrypoint: async (a) => void order.push(a === activity ? 'entrypoint' : 'wrong activity') },
    );
    h.send(hello);
    h.send(run(3n, '/bin/true'));
    const [first, second] = await h.take(2);
    assert.deepEqual([first!.command.case, second!.command.case], ['hello', 'run']);
    assert.deepEqual(order, ['boot', 'entrypoint']);
    h.input.end();
    await h.exit;
  });
});

describe('service: RunProcess', () => {
  it('sends the reply, the output chunks in order, then the exit event; sink promises wait for stdout', async () => {
    const seenAfterAwait: number[] = [];
    let h!: ReturnType<typeof harness>;
    const activity = new FakeActivity({
      '/bin/echo': async (sink) => {
        void sink.stdout(text('early ')); // before the pid is known: must wait for the reply
        await sink.stdout(text('hi\n'));
        seenAfterAwait.push(h.responses.length);
        await sink.stderr(text('oops'));
        seenAfterAwait.push(h.responses.length);
        return { code: 3, signal: null };
      },
    });
    h = harness(activity);
    h.send(hello);
    await h.next();
    h.send(run(3n, '/bin/echo', ['hi']));
    const [reply, ...events] = await h.take(5);
    assert.equal(reply!.id, 3n);
    assert.equal(reply!.event, false);
    assert.equal(reply!.command.case, 'run');
    assert.equal(reply!.command.value.pid, 1n);
    const summary = events.map((e) => {
      assert.equal(e.event, true);
      assert.equal(e.command.case, 'status');
      const s = e.command.value;
      return [s.pid, s.running, s.returnCode, Buffer.from(s.stdout).toString(), Buffer.from(s.stderr).toString()];
    });
    assert.deepEqual(summary, [
      [1n, true, 0, 'early ', ''],
      [1n, true, 0, 'hi\n', ''],
      [1n, true, 0, '', 'oops'],
      [1n, false, 3, '', ''],
    ]);
    assert.deepEqual(seenAfterAwait, [4, 5]); // hello, run, early, hi | + oops
    assert.deepEqual(activity.specs[0], { bin: '/bin/echo', argv: ['echo', 'hi'], workDir: undefined });
    h.input.end();
    await h.exit;
    h.assertOnlyFrames();
  });

  it('ends a process whose exit rejects with return code -1 and the error on stderr', async () => {
    const activity = new FakeActivity({
      '/bin/sleep': async () => {
        throw new RuntimeError('GUEST_CHANNEL_CLOSED', 'guest channel closed', { cause: new Error('QEMU died') });
      },
    });
    const h = harness(activity);
    h.send(hello);
    await h.next();
    h.send(run(3n, '/bin/sleep'));
    const [reply, last] = await h.take(2);
    assert.equal(reply!.command.case, 'run');
    assert.equal(last!.command.case, 'status');
    assert.equal(last!.command.value.running, false);
    assert.equal(last!.command.value.returnCode, -1);
    assert.equal(Buffer.from(last!.command.value.stderr).toString(), 'guest channel closed: QEMU died\n');
    h.input.end();
    await h.exit;
  });

  it('maps exec errors: not-found → NOT_FOUND, bad-request → BAD_REQUEST, others INTERNAL', async () => {
    const activity = new FakeActivity();
    activity.exec = async (spec) => {
      if (spec.bin === '/bad') throw new RuntimeError('GUEST_BAD_ARGUMENT', 'argv too long', { reply: 'bad-request' });
      if (spec.bin === '/boom') throw new Error('boom');
      throw new RuntimeError('GUEST_REQUEST_FAILED', `cannot start ${spec.bin}: No such file or directory (ENOENT)`, {
        reply: 'not-found',
      });
    };
    const h = harness(activity);
    h.send(hello);
    await h.next();
    h.send(run(3n, '/nope'));
    assert.deepEqual(errorOf(await h.next()), {
      id: 3n,
      code: Response_ErrorCode.NOT_FOUND,
      message: 'cannot start /nope: No such file or directory (ENOENT)',
    });
    assert.deepEqual(h.responses[1]!.command.value, {
      ...h.responses[1]!.command.value,
      context: { code: 'GUEST_REQUEST_FAILED' },
    });
    h.send(run(4n, '/bad'));
    assert.deepEqual(errorOf(await h.next()), {
      id: 4n,
      code: Response_ErrorCode.BAD_REQUEST,
      message: 'argv too long',
    });
    h.send(run(5n, '/boom'));
    assert.deepEqual(errorOf(await h.next()), { id: 5n, code: Response_ErrorCode.INTERNAL, message: 'boom' });
    h.send({ id: 6n, command: { case: 'run', value: { bin: '', args: [] } } });
    assert.deepEqual(errorOf(await h.next()), {
      id: 6n,
      code: Response_ErrorCode.BAD_REQUEST,
      message: 'RunProcess has an empty bin',
    });
    h.input.end();
    await h.exit;
  });

  it('refuses a RunProcess before Hello with BAD_REQUEST', async () => {
    const h = harness(new FakeActivity());
    h.send(run(3n, '/bin/true'));
    assert.deepEqual(errorOf(await h.next()), {
      id: 3n,
      code: Response_ErrorCode.BAD_REQUEST,
      message: 'no Hello received yet: the VM is not started',
    });
    h.input.end();
    await h.exit;
  });

  it('splits an output chunk above 1 MiB into several events', async () => {
    const activity = new FakeActivity({
      '/bin/cat': async (sink) => {
        await sink.stdout(new Uint8Array(2.5 * 1024 * 1024).fill(65));
        return { code: 0, signal: null };
      },
    });
    const h = harness(activity);
    h.send(hello);
    await h.next();
    h.send(run(3n, '/bin/cat'));
    const events = (await h.take(5)).slice(1);
    assert.deepEqual(
      events.map((e) => (e.command.case === 'status' ? [e.command.value.running, e.command.value.stdout.length] : [])),
      [
        [true, 1048576],
        [true, 1048576],
        [true, 524288],
        [false, 0],
      ],
    );
    h.input.end();
    await h.exit;
  });
});

describe('service: KillProcess, CreateNetwork, bad requests', () => {
  it('kills a process and replies kill{}; an unknown pid is NOT_FOUND', async () => {
    const activity = new FakeActivity({
      '/bin/sleep': async (_sink, _spec, proc) => ({ code: 128 + (await proc.killed), signal: 15 }),
    });
    const h = harness(activity);
    h.send(hello);
    await h.next();
    h.send(run(3n, '/bin/sleep'));
    await h.next();
    h.send({ id: 4n, command: { case: 'kill', value: { pid: 1n, signal: 15 } } });
    const [killed, exit] = await h.take(2);
    assert.equal(h.rawFrames[2], '0410045a00'); // kill{} still encoded
    assert.deepEqual([killed!.id, killed!.command.case], [4n, 'kill']);
    assert.equal(exit!.command.case === 'status' && exit!.command.value.returnCode, 143);
    h.send({ id: 5n, command: { case: 'kill', value: { pid: 1n, signal: 9 } } });
    assert.deepEqual(errorOf(await h.next()), {
      id: 5n,
      code: Response_ErrorCode.NOT_FOUND,
      message: 'no running process with pid 1',
    });
    assert.deepEqual(activity.calls, ['exec /bin/sleep', 'kill 1 15', 'kill 1 9']);
    h.input.end();
    await h.exit;
  });

  it('relays CreateNetwork to the activity and answers with its endpoint', async () => {
    const activity = new FakeActivity();
    activity.networkAnswer = { kind: 'udp', address: '127.0.0.1:41234' };
    const h = harness(activity);
    h.send(hello);
    await h.next();
    const net = loadFrameVectors().find((v) => v.description.startsWith('CreateNetwork'))!;
    h.input.write(net.frame);
    const reply = await h.next();
    assert.equal(reply.id, 6n);
    assert.deepEqual(reply.command.case === 'network' && reply.command.value.endpoint, {
      case: 'udpDatagram',
      value: '127.0.0.1:41234',
    });
    assert.deepEqual(activity.networks, [
      {
        role: 'inet',
        networks: [{ addr: '10.42.42.1', gateway: '10.42.42.1', mask: '255.255.255.0', ifAddr: '10.42.42.2' }],
        hosts: {},
      },
    ]);
    h.input.end();
    await h.exit;
  });

  it('answers a refused CreateNetwork with BAD_REQUEST and keeps serving', async () => {
    const activity = new FakeActivity();
    activity.networkAnswer = new RuntimeError('NETWORK_INVALID', 'CreateNetwork(VPN): network 1: mask 1.2.3.4', {
      reply: 'bad-request',
    });
    const h = harness(activity);
    h.send(hello);
    await h.next();
    const networks = [{ addr: '10.0.0.0', gateway: '', mask: '1.2.3.4', ifAddr: '10.0.0.2' }];
    h.send({ id: 7n, command: { case: 'network', value: { networks, hosts: { a: '10.0.0.3' }, interface: 0 } } });
    assert.deepEqual(errorOf(await h.next()), {
      id: 7n,
      code: Response_ErrorCode.BAD_REQUEST,
      message: 'CreateNetwork(VPN): network 1: mask 1.2.3.4',
    });
    h.send({ id: 8n, command: { case: 'network', value: { networks, hosts: {}, interface: 5 as NetworkInterface } } });
    assert.deepEqual(errorOf(await h.next()), {
      id: 8n,
      code: Response_ErrorCode.BAD_REQUEST,
      message: 'CreateNetwork: unknown interface 5 (expected VPN = 0 or INET = 1)',
    });
    assert.deepEqual(
      activity.networks.map((n) => [n.role, n.hosts]),
      [['vpn', { a: '10.0.0.3' }]],
    );
    h.send({ id: 9n, command: { case: 'shutdown', value: {} } });
    assert.equal((await h.next()).command.case, 'shutdown');
    await h.exit;
  });

  it('answers a request without a known command with BAD_REQUEST', async () => {
    const h = harness(new FakeActivity());
    h.input.write(encodeFrame(fromHex('0807c00201'))); // id 7, unknown field 40
    h.input.write(encodeFrame(new Uint8Array(0))); // empty request
    assert.deepEqual(await h.take(2).then((rs) => rs.map(errorOf)), [
      { id: 7n, code: Response_ErrorCode.BAD_REQUEST, message: 'request 7 has no command this runtime knows' },
      { id: 0n, code: Response_ErrorCode.BAD_REQUEST, message: 'request 0 has no command this runtime knows' },
    ]);
    h.input.end();
    await h.exit;
  });

  it('answers an undecodable frame with an error for id 0 and keeps serving', async () => {
    const h = harness(new FakeActivity());
    h.input.write(
      Buffer.concat([
        encodeFrame(fromHex('0a05616263')),
        encodeFrame(toBinary(RequestSchema, create(RequestSchema, hello))),
      ]),
    );
    const [bad, ok] = await h.take(2);
    assert.deepEqual(errorOf(bad!), {
      id: 0n,
      code: Response_ErrorCode.BAD_REQUEST,
      message: 'malformed request frame (5 bytes): premature EOF',
    });
    assert.deepEqual([ok!.id, ok!.command.case], [2n, 'hello']);
    h.input.end();
    assert.equal(await h.exit, SERVICE_EXIT.ok);
  });

  it('ends on an oversize length prefix: error reply, shutdown, exit code 2', async () => {
    const activity = new FakeActivity();
    const h = harness(activity);
    h.send(hello);
    await h.next();
    h.input.write(Buffer.concat([encodeVarint(17 * 1024 * 1024), fromHex('0801')]));
    assert.deepEqual(errorOf(await h.next()), {
      id: 0n,
      code: Response_ErrorCode.BAD_REQUEST,
      message: 'frame length 17825792 exceeds the maximum of 16777216',
    });
    assert.equal(await h.exit, SERVICE_EXIT.streamBroken);
    assert.deepEqual(activity.calls, ['shutdown']);
    h.send(hello); // ignored: the service has ended
    await new Promise((r) => setImmediate(r));
    assert.equal(h.responses.length, 2);
  });

  it('ends on a length prefix over 10 bytes', async () => {
    const h = harness(new FakeActivity());
    h.input.write(fromHex('ffffffffffffffffffffff'));
    assert.deepEqual(errorOf(await h.next()), {
      id: 0n,
      code: Response_ErrorCode.BAD_REQUEST,
      message: 'frame length prefix is longer than 10 bytes',
    });
    assert.equal(await h.exit, SERVICE_EXIT.streamBroken);
  });
});

describe('service: Shutdown and EOF', () => {
  it('Shutdown shuts the activity down, replies shutdown{} (vector bytes) and resolves 0', async () => {
    const activity = new FakeActivity();
    const h = harness(activity);
    h.send(hello);
    await h.next();
    h.send(shutdown(5n));
    h.send(hello); // after Shutdown: not read
    const reply = await h.next();
    assert.deepEqual([reply.id, reply.command.case], [5n, 'shutdown']);
    assert.equal(h.rawFrames[1], '0410056200');
    assert.equal(await h.exit, SERVICE_EXIT.ok);
    assert.deepEqual(activity.calls, ['shutdown']);
    assert.equal(h.responses.length, 2);
    h.assertOnlyFrames();
  });

  it('Shutdown before Hello replies and boots nothing', async () => {
    let boots = 0;
    const h = harness(async () => (boots++, new FakeActivity()));
    h.send(shutdown(2n));
    assert.equal((await h.next()).command.case, 'shutdown');
    assert.equal(await h.exit, SERVICE_EXIT.ok);
    assert.equal(boots, 0);
  });

  it('a failed shutdown is an Error reply and exit code 1', async () => {
    const activity = new FakeActivity();
    activity.shutdownError = new Error('QEMU did not exit');
    const h = harness(activity);
    h.send(hello);
    await h.next();
    h.send(shutdown(5n));
    assert.deepEqual(errorOf(await h.next()), {
      id: 5n,
      code: Response_ErrorCode.INTERNAL,
      message: 'QEMU did not exit',
    });
    assert.equal(await h.exit, SERVICE_EXIT.cleanupFailed);
  });

  it('stdin EOF shuts the activity down and resolves 0, writing nothing', async () => {
    const activity = new FakeActivity();
    const h = harness(activity);
    h.send(hello);
    await h.next();
    h.input.end();
    assert.equal(await h.exit, SERVICE_EXIT.ok);
    assert.deepEqual(activity.calls, ['shutdown']);
    assert.equal(h.responses.length, 1);
  });

  it('EOF during boot aborts the boot signal and shuts down what booted', async () => {
    const activity = new FakeActivity();
    let aborted = false;
    const h = harness(async (signal) => {
      await new Promise((r) => setTimeout(r, 20));
      aborted = signal.aborted;
      return activity;
    });
    h.send(hello);
    h.input.end();
    assert.equal(await h.exit, SERVICE_EXIT.ok);
    assert.equal(aborted, true);
    assert.deepEqual(activity.calls, ['shutdown']);
  });

  it('a broken stdout shuts down with exit code 2', async () => {
    const activity = new FakeActivity();
    const input = new PassThrough();
    const output = new Writable({
      write(_c, _e, cb) {
        cb(new Error('write EPIPE'));
      },
    });
    const exit = runService({
      input,
      output,
      boot: async (): Promise<ActivityApi> => activity,
      log: pino({ level: 'silent' }),
    });
    input.write(encodeFrame(toBinary(RequestSchema, create(RequestSchema, hello))));
    assert.equal(await exit, SERVICE_EXIT.streamBroken);
    assert.deepEqual(activity.calls, ['shutdown']);
  });
});
