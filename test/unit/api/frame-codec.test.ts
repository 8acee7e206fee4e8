import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { FrameLengthError, FrameTruncatedError, OutputClosedError, StreamIoError } from '../../../src/api/errors.js';
import { DEFAULT_MAX_FRAME_LENGTH, FrameBuffer, FrameReader, FrameWriter } from '../../../src/api/frame-codec.js';
import { encodeFrame, encodeVarint } from '../../helpers/delimited.js';
import { fromHex, loadFrameVectors, toHex } from '../../helpers/runtime-api-vectors.js';
import { mulberry32 } from '../../helpers/random.js';

const vectors = loadFrameVectors();
const allFrames = Buffer.concat(vectors.map((v) => v.frame));
const bodies = vectors.map((v) => toHex(v.frame.subarray(prefixLength(v.frame))));

function prefixLength(frame: Uint8Array): number {
  let i = 0;
  while ((frame[i]! & 0x80) !== 0) i++;
  return i + 1;
}

function drain(buffer: FrameBuffer): string[] {
  const out: string[] = [];
  for (let f = buffer.tryRead(); f !== undefined; f = buffer.tryRead()) out.push(toHex(f));
  return out;
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}

describe('encodeVarint / encodeFrame', () => {
  it('encodes lengths like protobuf', () => {
    assert.equal(toHex(encodeVarint(0)), '00');
    assert.equal(toHex(encodeVarint(127)), '7f');
    assert.equal(toHex(encodeVarint(128)), '8001');
    assert.equal(toHex(encodeVarint(300)), 'ac02');
    assert.equal(toHex(encodeVarint(2 ** 32)), '8080808010');
    assert.throws(() => encodeVarint(-1), RangeError);
  });

  it('re-frames every vector body to the same bytes', () => {
    assert.ok(vectors.length >= 15, `only ${vectors.length} vectors loaded`);
    for (const [i, v] of vectors.entries()) {
      assert.equal(toHex(encodeFrame(fromHex(bodies[i]!))), toHex(v.frame), `line ${v.line}`);
    }
  });
});

describe('FrameBuffer', () => {
  it('reads every vector as one frame', () => {
    for (const [i, v] of vectors.entries()) {
      const buffer = new FrameBuffer();
      buffer.append(v.frame);
      assert.deepEqual(drain(buffer), [bodies[i]], `line ${v.line}`);
      assert.equal(buffer.pending, 0);
    }
  });

  it('reads several frames from one chunk', () => {
    const buffer = new FrameBuffer();
    buffer.append(allFrames);
    assert.deepEqual(drain(buffer), bodies);
  });

  it('reads frames split at every byte', () => {
    for (let cut = 0; cut <= allFrames.length; cut++) {
      const buffer = new FrameBuffer();
      buffer.append(allFrames.subarray(0, cut));
      const got = drain(buffer);
      buffer.append(allFrames.subarray(cut));
      got.push(...drain(buffer));
      assert.deepEqual(got, bodies, `cut at ${cut}`);
    }
  });

  it('reads frames fed one byte at a time', () => {
    const buffer = new FrameBuffer();
    const got: string[] = [];
    for (const byte of allFrames) {
      buffer.append(Uint8Array.of(byte));
      got.push(...drain(buffer));
    }
    assert.deepEqual(got, bodies);
  });

  it('reads frames at random chunk sizes', () => {
    const big = encodeFrame(new Uint8Array(70_000).fill(7)); // a 3-byte prefix
    const stream = Buffer.concat([allFrames, big, allFrames]);
    const expected = [...bodies, toHex(big.subarray(3)), ...bodies];
    for (let seed = 1; seed <= 200; seed++) {
      const rand = mulberry32(seed);
      const buffer = new FrameBuffer();
      const got: string[] = [];
      for (let off = 0; off < stream.length;) {
        const n = 1 + Math.floor(rand() * (rand() < 0.5 ? 8 : 4096));
        buffer.append(stream.subarray(off, off + n));
        off += n;
        got.push(...drain(buffer));
      }
      assert.deepEqual(got, expected, `seed ${seed}`);
    }
  });

  it('returns an empty body for a zero-length frame', () => {
    const buffer = new FrameBuffer();
    buffer.append(fromHex('00'));
    const frame = buffer.tryRead();
    assert.ok(frame);
    assert.equal(frame.length, 0);
    assert.equal(buffer.tryRead(), undefined);
  });

  it('accepts a frame of exactly the maximum length', () => {
    const buffer = new FrameBuffer(300);
    buffer.append(encodeVarint(300));
    assert.equal(buffer.tryRead(), undefined);
    buffer.append(new Uint8Array(300));
    assert.equal(buffer.tryRead()?.length, 300);
  });

  it('refuses an oversize length as soon as the prefix is complete, before the body', () => {
    const buffer = new FrameBuffer();
    buffer.append(encodeVarint(DEFAULT_MAX_FRAME_LENGTH + 1));
    const err = captureError(() => buffer.tryRead());
    assert.ok(err instanceof FrameLengthError);
    assert.equal(err.code, 'FRAME_TOO_LARGE');
    assert.equal(err.reply, 'bad-request');
    assert.equal(err.message, 'frame length 16777217 exceeds the maximum of 16777216');
    assert.equal(err.length, 16777217);
    assert.equal(err.maxLength, DEFAULT_MAX_FRAME_LENGTH);
  });

  it('refuses a 10-byte varint holding a huge length', () => {
    const buffer = new FrameBuffer(16);
    buffer.append(fromHex('ffffffffffffffffff01'));
    const err = captureError(() => buffer.tryRead());
    assert.ok(err instanceof FrameLengthError);
    assert.equal(err.code, 'FRAME_TOO_LARGE');
    assert.equal(err.message, 'frame length 18446744073709552000 exceeds the maximum of 16');
  });

  it('refuses a length prefix longer than 10 bytes', () => {
    const buffer = new FrameBuffer();
    buffer.append(fromHex('808080808080808080')); // 9 bytes, all continued: wait for more
    assert.equal(buffer.tryRead(), undefined);
    buffer.append(fromHex('80'));
    const err = captureError(() => buffer.tryRead());
    assert.ok(err instanceof FrameLengthError);
    assert.equal(err.code, 'FRAME_BAD_PREFIX');
    assert.equal(err.message, 'frame length prefix is longer than 10 bytes');
    assert.equal(err.length, undefined);
  });

  it('stays failed after a framing error: the stream cannot be resynced', () => {
    const buffer = new FrameBuffer(4);
    buffer.append(fromHex('05'));
    const first = captureError(() => buffer.tryRead());
    buffer.append(fromHex('0100'));
    assert.equal(
      captureError(() => buffer.tryRead()),
      first,
    );
    assert.equal(buffer.pending, 0);
  });
});

describe('FrameReader', () => {
  function collect(input: PassThrough, max?: number) {
    const frames: string[] = [];
    const errors: unknown[] = [];
    let closes = 0;
    const closed = new Promise<void>((resolve) => {
      new FrameReader(input, max).listen({
        frame: (f) => frames.push(toHex(f)),
        error: (e) => errors.push(e),
        close: () => {
          closes++;
          resolve();
        },
      });
    });
    return { frames, errors, closed, closes: () => closes };
  }

  it('emits frames from a stream and closes on EOF', async () => {
    const input = new PassThrough();
    const r = collect(input);
    for (let off = 0; off < allFrames.length; off += 5) input.write(allFrames.subarray(off, off + 5));
    input.end();
    await r.closed;
    assert.deepEqual(r.frames, bodies);
    assert.deepEqual(r.errors, []);
    assert.equal(r.closes(), 1);
  });

  it('reports a frame truncated by EOF', async () => {
    const input = new PassThrough();
    const r = collect(input);
    input.end(vectors[0]!.frame.subarray(0, 5));
    await r.closed;
    assert.equal(r.errors.length, 1);
    const err = r.errors[0];
    assert.ok(err instanceof FrameTruncatedError);
    assert.equal(err.code, 'FRAME_TRUNCATED');
    assert.equal(err.message, 'input ended in the middle of a frame (5 bytes pending)');
  });

  it('stops at an oversize frame: error, close, nothing after', async () => {
    const input = new PassThrough();
    const r = collect(input, 64);
    input.write(Buffer.concat([vectors[0]!.frame, encodeVarint(65), vectors[0]!.frame]));
    await r.closed;
    input.end(vectors[0]!.frame);
    assert.deepEqual(r.frames, [bodies[0]]);
    assert.equal(r.errors.length, 1);
    assert.ok(r.errors[0] instanceof FrameLengthError);
    assert.equal((r.errors[0] as FrameLengthError).message, 'frame length 65 exceeds the maximum of 64');
    assert.equal(r.closes(), 1);
  });

  it('wraps a stream error', async () => {
    const input = new PassThrough();
    const r = collect(input);
    input.destroy(new Error('EIO'));
    await r.closed;
    assert.ok(r.errors[0] instanceof StreamIoError);
    assert.equal((r.errors[0] as StreamIoError).code, 'INPUT_FAILED');
    assert.equal((r.errors[0] as StreamIoError).message, 'reading requests failed: EIO');
  });
});

describe('FrameWriter', () => {
  /** A Writable that accepts one byte of buffer before asking for drain, and completes writes later. */
  function slowSink() {
    const written: Buffer[] = [];
    const stream = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, cb) {
        setTimeout(() => {
          written.push(chunk);
          cb();
        }, 1);
      },
    });
    return { stream, written };
  }

  it('writes whole frames in call order, one write per frame, waiting for drain', async () => {
    const { stream, written } = slowSink();
    const writer = new FrameWriter(stream);
    let drains = 0;
    stream.on('drain', () => drains++);
    await Promise.all(bodies.map((b) => writer.write(encodeFrame(fromHex(b)))));
    assert.deepEqual(
      written.map((c) => c.toString('hex')),
      vectors.map((v) => toHex(v.frame)),
    );
    assert.ok(drains >= bodies.length - 1, `only ${drains} drains`);
  });

  it('resolves a write only once the stream accepted it', async () => {
    const { stream, written } = slowSink();
    const writer = new FrameWriter(stream);
    await writer.write(encodeFrame(fromHex('0801')));
    assert.equal(written.length, 1);
    assert.equal(written[0]!.toString('hex'), '020801');
  });

  it('refuses writes after close() but sends those queued before', async () => {
    const { stream, written } = slowSink();
    const writer = new FrameWriter(stream);
    const queued = writer.write(encodeFrame(fromHex('0801')));
    writer.close('the service has ended');
    await assert.rejects(writer.write(encodeFrame(fromHex('0802'))), (err: unknown) => {
      assert.ok(err instanceof OutputClosedError);
      assert.equal(err.code, 'OUTPUT_CLOSED');
      assert.equal(err.message, 'the service has ended');
      return true;
    });
    await queued;
    await writer.flushed();
    assert.equal(written.length, 1);
  });

  it('reports an output stream error once and rejects the write', async () => {
    const stream = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const writer = new FrameWriter(stream);
    const reported: StreamIoError[] = [];
    writer.onError((e) => reported.push(e));
    await assert.rejects(writer.write(encodeFrame(fromHex('0801'))), (err: unknown) => {
      assert.ok(err instanceof StreamIoError);
      assert.equal(err.code, 'OUTPUT_FAILED');
      assert.equal(err.message, 'writing responses failed: write EPIPE');
      return true;
    });
    await assert.rejects(writer.write(encodeFrame(fromHex('0801'))));
    assert.equal(reported.length, 1);
  });
});
