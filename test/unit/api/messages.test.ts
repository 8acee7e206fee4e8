import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { RuntimeError } from '../../../src/errors.js';
import { MessageDecodeError } from '../../../src/api/errors.js';
import { FrameBuffer } from '../../../src/api/frame-codec.js';
import { encodeFrame } from '../../helpers/delimited.js';
import { NetworkInterface, RequestSchema, ResponseSchema } from '../../../src/api/generated/runtime_pb.js';
import {
  Response_ErrorCode,
  decodeRequest,
  encodeResponseFrame,
  errorCodeOf,
  errorReply,
  helloReply,
  killReply,
  runReply,
  shutdownReply,
  splitChunk,
  statusEvent,
  type Response,
} from '../../../src/api/messages.js';
import { fromHex, loadFrameVectors, toHex, type FrameVector } from '../../helpers/runtime-api-vectors.js';

const vectors = loadFrameVectors();

function body(v: FrameVector): Uint8Array {
  const buffer = new FrameBuffer();
  buffer.append(v.frame);
  const b = buffer.tryRead();
  assert.ok(b, `line ${v.line}: no complete frame`);
  assert.equal(buffer.pending, 0, `line ${v.line}: trailing bytes`);
  return b;
}

function vector(prefix: string): FrameVector {
  const v = vectors.find((x) => x.description.startsWith(prefix));
  assert.ok(v, `no vector "${prefix}"`);
  return v;
}

function frameOf(response: Response): string {
  return toHex(encodeResponseFrame(response));
}

describe('runtime.proto against frames.txt', () => {
  it('decodes and re-encodes every vector to the same bytes', () => {
    for (const v of vectors) {
      const b = body(v);
      const again =
        v.direction === 'request'
          ? toBinary(RequestSchema, fromBinary(RequestSchema, b))
          : toBinary(ResponseSchema, fromBinary(ResponseSchema, b));
      assert.equal(toHex(encodeFrame(again)), toHex(v.frame), `line ${v.line}: ${v.description}`);
    }
  });

  it('decodes requests to the values the comments name', () => {
    const hello = decodeRequest(body(vector('Hello{version:"0.1.0"}, id 2')));
    assert.equal(hello.id, 2n);
    assert.equal(hello.command.case, 'hello');
    assert.equal(hello.command.value?.version, '0.1.0');

    const run = decodeRequest(body(vector('RunProcess{bin:"/bin/echo"')));
    assert.equal(run.id, 3n);
    assert.equal(run.command.case, 'run');
    assert.deepEqual(
      [run.command.value.bin, run.command.value.args, run.command.value.workDir],
      ['/bin/echo', ['echo', 'hi'], ''],
    );
    assert.equal(run.command.value.stdout, undefined);

    const kill = decodeRequest(body(vector('KillProcess{pid:1, signal:15}')));
    assert.equal(kill.command.case, 'kill');
    assert.deepEqual([kill.id, kill.command.value.pid, kill.command.value.signal], [4n, 1n, 15]);

    const shutdown = decodeRequest(body(vector('Shutdown{}, id 5')));
    assert.deepEqual([shutdown.id, shutdown.command.case], [5n, 'shutdown']);

    const net = decodeRequest(body(vector('CreateNetwork')));
    assert.equal(net.command.case, 'network');
    assert.equal(net.command.value.interface, NetworkInterface.INET);
    assert.deepEqual(
      net.command.value.networks.map((n) => [n.addr, n.gateway, n.mask, n.ifAddr]),
      [['10.42.42.1', '10.42.42.1', '255.255.255.0', '10.42.42.2']],
    );
  });

  it('decodes the -1 return code and the usage counter', () => {
    const lost = fromBinary(ResponseSchema, body(vector('event ProcessStatus{pid:7')));
    assert.equal(lost.event, true);
    assert.equal(lost.command.case, 'status');
    assert.deepEqual(
      [lost.command.value.pid, lost.command.value.running, lost.command.value.returnCode],
      [7n, false, -1],
    );

    const counter = fromBinary(ResponseSchema, body(vector('event RuntimeStatus')));
    assert.equal(counter.command.case, 'rtStatus');
    const kind = counter.command.value.kind;
    assert.equal(kind.case, 'counter');
    assert.deepEqual([kind.value.name, kind.value.value], ['golem.usage.custom', 1.5]);
  });
});

describe('response builders', () => {
  it('produce the vector bytes', () => {
    const cases: [string, Response][] = [
      ['Hello{version:"0.1.0"}, id 2', helloReply(2n, '0.1.0')],
      ['RunProcess{pid:1}, id 3', runReply(3n, 1)],
      ['event ProcessStatus{pid:1, running:true', statusEvent(1, { running: true, stdout: Buffer.from('hi\n') })],
      ['event ProcessStatus{pid:1, running:false, return_code:0}', statusEvent(1, { running: false, returnCode: 0 })],
      ['event ProcessStatus{pid:1, running:false, return_code:1}', statusEvent(1, { running: false, returnCode: 1 })],
      ['event ProcessStatus{pid:7, running:false, return_code:-1}', statusEvent(7, { running: false, returnCode: -1 })],
      ['KillProcess{}, id 4', killReply(4n)],
      ['Shutdown{}, id 5', shutdownReply(5n)],
      ['Error{code:INTERNAL, message:"x"}, id 5', errorReply(5n, new Error('x'))],
    ];
    for (const [name, response] of cases) {
      const v = vectors.find((x) => x.direction === 'response' && x.description.startsWith(name));
      assert.ok(v, `no response vector "${name}"`);
      assert.equal(frameOf(response), toHex(v.frame), name);
    }
  });

  it('maps RuntimeError.reply to ErrorCode and sends the chain, never a stack', () => {
    const notFound = new RuntimeError('GUEST_REQUEST_FAILED', 'exec /nope', {
      reply: 'not-found',
      cause: new Error('No such file or directory'),
    });
    const reply = errorReply(9n, notFound);
    assert.equal(reply.id, 9n);
    assert.equal(reply.command.case, 'error');
    assert.equal(reply.command.value.code, Response_ErrorCode.NOT_FOUND);
    assert.equal(reply.command.value.message, 'exec /nope: No such file or directory');
    assert.deepEqual(reply.command.value.context, { code: 'GUEST_REQUEST_FAILED' });
    assert.equal(errorCodeOf(new RuntimeError('X', 'x', { reply: 'bad-request' })), Response_ErrorCode.BAD_REQUEST);
    assert.equal(errorCodeOf(new RuntimeError('X', 'x')), Response_ErrorCode.INTERNAL);
    assert.equal(errorCodeOf(new TypeError('x')), Response_ErrorCode.INTERNAL);
    assert.equal(errorCodeOf('a string'), Response_ErrorCode.INTERNAL);
  });

  it('splits large output deltas', () => {
    const chunk = new Uint8Array(10);
    assert.deepEqual(
      splitChunk(chunk, 4).map((c) => c.length),
      [4, 4, 2],
    );
    assert.deepEqual(
      splitChunk(chunk, 10).map((c) => c.length),
      [10],
    );
  });
});

describe('decodeRequest', () => {
  it('accepts an empty body as a request with no command', () => {
    const r = decodeRequest(new Uint8Array(0));
    assert.deepEqual([r.id, r.command.case], [0n, undefined]);
  });

  it('keeps unknown fields without failing', () => {
    const r = decodeRequest(fromHex('0807c00201')); // id 7, field 40 varint 1
    assert.deepEqual([r.id, r.command.case], [7n, undefined]);
  });

  it('throws MessageDecodeError for a malformed body', () => {
    for (const [hex, reason] of [
      ['0a05616263', 'premature EOF'],
      ['0801ffffffffffffffffffff01', 'invalid varint'],
    ] as const) {
      assert.throws(
        () => decodeRequest(fromHex(hex)),
        (err: unknown) => {
          assert.ok(err instanceof MessageDecodeError);
          assert.equal(err.code, 'MESSAGE_DECODE_FAILED');
          assert.equal(err.reply, 'bad-request');
          assert.equal(err.message, `malformed request frame (${hex.length / 2} bytes): ${reason}`);
          return true;
        },
      );
    }
  });
});
