/**
 * `start`'s stdin (issue 17, item 3): random and mutated frame streams into the service (src/api/service.ts) over
 * a FakeActivity: requests from the golden vectors and built ones (every command, unknown fields, unknown oneof
 * cases), mutated, with huge length prefixes and random bytes between, cut at random points or at every byte, then
 * EOF. The runtime must answer or end cleanly: runService resolves (within HANG_MS: it never hangs) with one of its
 * exit codes, stdout holds only whole Response frames, and an activity that was booted was shut down exactly once
 * (the fake's stand-in for "no QEMU left behind"; the VM test does the same against a real VM).
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { pino } from 'pino';
import { FakeActivity } from '../helpers/fake-activity.js';
import { encodeFrame, encodeVarint } from '../helpers/delimited.js';
import type { Load } from './lib/modules.js';
import { chunksOf, concat, mutated, splits } from './lib/mutate.js';
import { loadFrameVectors } from '../helpers/runtime-api-vectors.js';
import type { FuzzTarget } from './targets.js';

const HANG_MS = 5000;

export type Pb = typeof import('../../src/api/generated/runtime_pb.js');

/** A Request body built from one of the commands, small values only (a fake program runs for each RunProcess). */
function requestBody(pb: Pb): fc.Arbitrary<Uint8Array> {
  const id = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  const cmd = fc.oneof(
    fc.record({
      case: fc.constant('hello' as const),
      value: fc.record({ version: fc.constantFrom('0.1.0', '', 'x') }),
    }),
    fc.record({
      case: fc.constant('run' as const),
      // The fake's programs (test/helpers/fake-activity.ts) by bin; flood's N and SIZE must be numbers.
      value: fc
        .tuple(
          fc.oneof(
            fc.tuple(
              fc.constantFrom('echo', 'cat', 'sleep', 'crash', 'missing', 'noexec', ''),
              fc.array(fc.constantFrom('echo', 'a', 'b', ''), { maxLength: 3 }),
            ),
            fc.tuple(fc.constant('flood'), fc.tuple(fc.integer({ min: -1, max: 3 }), fc.nat(200))),
          ),
          fc.constantFrom('', '/', 'rel'),
        )
        .map(([[bin, a], workDir]) => ({
          bin,
          args: Array.isArray(a) ? a : ['flood', String(a[0]), String(a[1])],
          workDir,
        })),
    }),
    fc.record({
      case: fc.constant('kill' as const),
      value: fc.record({ pid: fc.bigInt({ min: 0n, max: 5n }), signal: fc.integer({ min: -1, max: 70 }) }),
    }),
    fc.record({ case: fc.constant('shutdown' as const), value: fc.constant({}) }),
    fc.record({
      case: fc.constant('network' as const),
      value: fc.record({
        networks: fc.array(
          fc.record({
            addr: fc.constantFrom('10.0.0.0', 'x', ''),
            gateway: fc.constantFrom('10.0.0.1', ''),
            mask: fc.constantFrom('255.255.255.0', '0.0.0.0', ''),
            ifAddr: fc.constantFrom('10.0.0.2', ''),
          }),
          { maxLength: 2 },
        ),
        hosts: fc.dictionary(fc.constantFrom('10.0.0.3', 'x'), fc.constantFrom('peer', '')),
        interface: fc.constantFrom(0, 1, 2, 7),
      }),
    }),
    fc.constant(undefined),
  );
  return fc
    .tuple(id, cmd)
    .map(([i, c]) =>
      toBinary(pb.RequestSchema, create(pb.RequestSchema, c ? { id: i, command: c as never } : { id: i })),
    );
}

/** Protobuf the schema does not know: an unknown field (any wire type), or an unknown case of the command oneof. */
const unknownField: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(fc.integer({ min: 3, max: 2000 }), fc.nat()).map(([n, v]) => concat([encodeVarint(n * 8), encodeVarint(v)])),
  fc
    .tuple(fc.integer({ min: 3, max: 2000 }), fc.uint8Array({ maxLength: 16 }))
    .map(([n, b]) => concat([encodeVarint(n * 8 + 2), encodeVarint(b.length), b])),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => concat([Uint8Array.of(31 * 8 + 5), b])),
);

/** A length prefix that announces far more than follows: up to the 10-byte maximum, and past it. */
const hugePrefix: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(2 ** 24 + 1, 2 ** 32 - 1, 2 ** 53 - 1).map(encodeVarint),
  fc.constant(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
  fc.constant(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80])),
);

/** The request frames of the golden vectors, and their bodies (length prefix cut off). */
function requestFrames(): Uint8Array[] {
  return loadFrameVectors()
    .filter((v) => v.direction === 'request')
    .map((v) => v.frame);
}

function bodyOf(frame: Uint8Array): Uint8Array {
  let i = 0;
  while (i < frame.length && (frame[i]! & 0x80) !== 0) i++;
  return frame.subarray(i + 1);
}

/** Whole frames only (each well framed, its body built, extended with unknown fields, or mutated), none a
 * Shutdown: a stream the service must keep serving after (the VM test's first part). */
export function servedStream(pb: Pb, maxFrames = 8): fc.Arbitrary<Uint8Array> {
  const body = fc.oneof(
    requestBody(pb),
    fc
      .tuple(requestBody(pb), fc.array(unknownField, { minLength: 1, maxLength: 3 }))
      .map(([b, u]) => concat([b, ...u])),
    mutated(requestFrames().map(bodyOf), 4),
  );
  const notShutdown = (b: Uint8Array): boolean => {
    try {
      return fromBinary(pb.RequestSchema, b).command.case !== 'shutdown';
    } catch {
      return true;
    }
  };
  return fc.array(body.filter(notShutdown).map(encodeFrame), { maxLength: maxFrames }).map(concat);
}

/** What breaks the framing for good: a huge or overlong length prefix, or a frame cut short by EOF. */
export function breakingTail(): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.tuple(hugePrefix, fc.uint8Array({ maxLength: 8 })).map(concat),
    fc
      .tuple(fc.integer({ min: 2, max: 120 }), fc.uint8Array({ maxLength: 1 }))
      .map(([n, b]) => concat([encodeVarint(n), b])),
  );
}

function stream(pb: Pb): fc.Arbitrary<Uint8Array> {
  const good = fc.oneof(
    requestBody(pb).map(encodeFrame),
    fc
      .tuple(requestBody(pb), fc.array(unknownField, { minLength: 1, maxLength: 3 }))
      .map(([b, u]) => encodeFrame(concat([b, ...u]))),
  );
  const requests = requestFrames();
  const frame = fc.oneof(
    { weight: 6, arbitrary: good },
    { weight: 3, arbitrary: mutated(requests, 4) },
    { weight: 1, arbitrary: fc.tuple(hugePrefix, fc.uint8Array({ maxLength: 8 })).map(concat) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 32 }) },
  );
  return fc.array(frame, { maxLength: 8 }).map(concat);
}

async function feed(load: Load, bytes: Uint8Array, s: number[] | 'every'): Promise<void> {
  const service = await load<typeof import('../../src/api/service.js')>('api/service.js');
  const codec = await load<typeof import('../../src/api/frame-codec.js')>('api/frame-codec.js');
  const pb = await load<Pb>('api/generated/runtime_pb.js');
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await feedOnce(service, codec, pb, bytes, s);
    // A rejection nobody handles surfaces a tick later: let it.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  const first = unhandled[0];
  if (first !== undefined) {
    assert.fail(`a promise rejection was left unhandled: ${first instanceof Error ? first.stack : String(first)}`);
  }
}

async function feedOnce(
  service: typeof import('../../src/api/service.js'),
  codec: typeof import('../../src/api/frame-codec.js'),
  pb: Pb,
  bytes: Uint8Array,
  s: number[] | 'every',
): Promise<void> {
  const activity = new FakeActivity();
  let booted = false;
  const input = new PassThrough();
  const out = new codec.FrameBuffer();
  const output = new Writable({
    write(chunk: Buffer, _e, cb) {
      out.append(new Uint8Array(chunk));
      for (let f = out.tryRead(); f; f = out.tryRead()) fromBinary(pb.ResponseSchema, f);
      cb();
    },
  });
  const exit = service.runService({
    input,
    output,
    boot: async () => {
      booted = true;
      return activity;
    },
    log: pino({ level: 'silent' }),
  });
  for (const c of chunksOf(bytes, s)) input.write(c);
  input.end();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), HANG_MS)));
  const code = await Promise.race([exit, hang]);
  clearTimeout(timer);
  assert.notEqual(code, 'hang', `the service did not end within ${HANG_MS} ms of EOF`);
  assert.ok(Object.values(service.SERVICE_EXIT).includes(code as never), `exit code ${String(code)}`);
  assert.equal(out.pending, 0, 'stdout ends inside a frame');
  if (booted) assert.equal(activity.shutdowns, 1, 'a booted activity is shut down exactly once');
}

const serviceStdin: FuzzTarget = {
  id: 'start-stdin',
  decoder: 'src/api/service.ts over src/api/frame-codec.ts, with a FakeActivity',
  seeds: () => requestFrames().length,
  mutant: {
    file: 'api/service.js',
    from: 'close: () => void this.end(SERVICE_EXIT.ok),',
    to: 'close: () => undefined,',
    what: 'the end of the service at EOF on stdin',
  },
  async property(load) {
    const pb = await load<Pb>('api/generated/runtime_pb.js');
    return fc.asyncProperty(stream(pb), splits, (bytes, s) => feed(load, bytes, s));
  },
};

export const SERVICE_TARGETS: FuzzTarget[] = [serviceStdin];
