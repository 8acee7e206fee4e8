/**
 * The TypeScript fuzz targets: one per decoder of untrusted bytes (docs/reliability.md). Each is a fast-check
 * property over inputs mutated from the golden vectors, asserting that
 *   - only the module's typed error (a RuntimeError with one of its listed codes) is ever thrown, and
 *   - decode then encode is the identity on whatever decodes (and, where the decoder reads a stream, the result
 *     does not depend on how the stream is cut),
 * plus the invariant the planted bug breaks. `mutant` is that bug: one check removed from the compiled decoder
 * (lib/modules.ts); the property run against it must fail within the proof's bound.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { equals, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import type { Load, Mutation } from './lib/modules.js';
import { bytesFrom, chunksOf, jsonFrom, mutated, splits, streamFrom } from './lib/mutate.js';
import { guestFrames, gvmiTrailer, hexLines, runtimeApiFrames } from './lib/seeds.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProperty = fc.IRawProperty<any, boolean>;

export interface FuzzTarget {
  id: string;
  /** The decoder(s) under test, as source paths. */
  decoder: string;
  /** Seed inputs (the corpus the mutations start from). */
  seeds: () => number;
  /** `proof`: the run against the mutant, which starts from valid inputs only where the seeds hold malformed ones
   * (those would hand it the bug without any search). */
  property: (load: Load, opts?: { proof?: boolean }) => Promise<AnyProperty>;
  mutant: Mutation;
}

/** A throw is fine only if it is `cls` with one of `codes`. */
function typed(err: unknown, cls: abstract new (...args: never[]) => Error, codes: readonly string[]): void {
  if (!(err instanceof cls)) {
    throw new Error(`untyped error escaped the decoder: ${err instanceof Error ? err.stack : String(err)}`);
  }
  const code = (err as Error & { code?: string }).code;
  if (!codes.includes(code ?? '')) throw new Error(`unlisted code ${code} escaped: ${err.message}`);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const enc = new TextEncoder();

// ---- runtime-API frames (stdin of `start`) -----------------------------------------------------------------------

const API_MAX = 48;

const runtimeApi: FuzzTarget = {
  id: 'runtime-api-frames',
  decoder: 'src/api/frame-codec.ts, src/api/messages.ts (decodeRequest)',
  seeds: () => runtimeApiFrames().length,
  mutant: {
    file: 'api/frame-codec.js',
    from: 'if (value > this.maxFrameLength) {',
    to: 'if (false) {',
    what: "FrameBuffer's maximum-length check on the declared length",
  },
  async property(load) {
    const codec = await load<typeof import('../../src/api/frame-codec.js')>('api/frame-codec.js');
    const msgs = await load<typeof import('../../src/api/messages.js')>('api/messages.js');
    const errs = await load<typeof import('../../src/api/errors.js')>('api/errors.js');
    const pb = await load<typeof import('../../src/api/generated/runtime_pb.js')>('api/generated/runtime_pb.js');
    const seeds = runtimeApiFrames();
    const readAll = (chunks: Uint8Array[]): { bodies: string[]; error?: string } => {
      const buf = new codec.FrameBuffer(API_MAX);
      const bodies: string[] = [];
      for (const c of chunks) {
        buf.append(c);
        try {
          for (let f = buf.tryRead(); f; f = buf.tryRead()) bodies.push(hex(f));
        } catch (err) {
          typed(err, errs.FrameLengthError, ['FRAME_TOO_LARGE', 'FRAME_BAD_PREFIX']);
          return { bodies, error: (err as { code: string }).code };
        }
        // Never holds more than one frame in waiting: the length is refused before its body is buffered.
        assert.ok(buf.pending < API_MAX + 10, `FrameBuffer holds ${buf.pending} bytes, limit ${API_MAX}`);
      }
      return { bodies };
    };
    return fc.property(streamFrom(seeds), splits, (stream, s) => {
      const whole = readAll([stream]);
      assert.deepEqual(readAll(chunksOf(stream, s)), whole, 'frames do not depend on how stdin is cut');
      for (const body of whole.bodies) {
        let req;
        try {
          req = msgs.decodeRequest(Buffer.from(body, 'hex'));
        } catch (err) {
          typed(err, errs.MessageDecodeError, ['MESSAGE_DECODE_FAILED']);
          continue;
        }
        const again = msgs.decodeRequest(toBinary(pb.RequestSchema, req));
        assert.ok(equals(pb.RequestSchema, again, req), 'decode(encode(request)) is the request');
      }
    });
  },
};

// ---- guest frames (the agent port) ----------------------------------------------------------------------------

const guest: FuzzTarget = {
  id: 'guest-frames',
  decoder: 'src/guest/frames.ts, src/guest/wire.ts, src/guest/net-config-frame.ts',
  seeds: () => guestFrames().length,
  mutant: {
    file: 'guest/wire.js',
    from: 'if (n > left) {',
    to: 'if (false) {',
    what: "FieldReader's check that a field fits in the payload",
  },
  async property(load, opts) {
    const frames = await load<typeof import('../../src/guest/frames.js')>('guest/frames.js');
    const errs = await load<typeof import('../../src/guest/errors.js')>('guest/errors.js');
    const seeds = opts?.proof ? hexLines('guest/frames.txt') : guestFrames();
    const stream = (chunks: Uint8Array[]): { msgs: unknown[]; error?: string } => {
      const buf = new frames.GuestFrameBuffer();
      const msgs: unknown[] = [];
      try {
        for (const c of chunks) {
          buf.append(c);
          for (let m = buf.tryRead(); m; m = buf.tryRead()) msgs.push(m);
        }
      } catch (err) {
        typed(err, errs.GuestProtocolError, ['GUEST_PROTOCOL']);
        return { msgs, error: (err as Error).message };
      }
      return { msgs };
    };
    return fc.property(bytesFrom(seeds), streamFrom(seeds), splits, (one, many, s) => {
      let msg;
      try {
        msg = frames.decodeFrame(one);
      } catch (err) {
        typed(err, errs.GuestProtocolError, ['GUEST_PROTOCOL']);
      }
      if (msg !== undefined) {
        const again = frames.encodeMessage(msg);
        assert.deepEqual(frames.decodeFrame(again), msg, 'decode(encode(message)) is the message');
        // Guest strings that are not UTF-8 decode with U+FFFD by design (wire.ts): only those frames change.
        if (!JSON.stringify(msg, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).includes('\ufffd')) {
          assert.equal(hex(again), hex(one), 'encode(decode(frame)) is the frame');
        }
      }
      assert.deepEqual(stream(chunksOf(many, s)), stream([many]), 'messages do not depend on how the port is cut');
    });
  },
};

// ---- .gvmi trailer and metadata --------------------------------------------------------------------------------

const gvmi: FuzzTarget = {
  id: 'gvmi-trailer',
  decoder: 'src/image/gvmi-reader.ts (length field, CRC + metadata block), src/image/metadata.ts',
  seeds: () => 2,
  mutant: {
    file: 'image/gvmi-reader.js',
    from: 'if (!/^[0-9]{8}$/.test(text)) {',
    to: 'if (false) {',
    what: 'the check that the length field is 8 decimal digits',
  },
  async property(load) {
    const reader = await load<typeof import('../../src/image/gvmi-reader.js')>('image/gvmi-reader.js');
    const errs = await load<typeof import('../../src/image/errors.js')>('image/errors.js');
    const t = gvmiTrailer();
    const withCrc = (json: Uint8Array): Buffer => {
      const b = Buffer.alloc(4 + json.length);
      b.writeUInt32LE(zlib.crc32(json), 0);
      Buffer.from(json).copy(b, 4);
      return b;
    };
    const field = fc.oneof(
      mutated([t.field]),
      fc.stringMatching(/^[0-9]{8}$/).map((s) => enc.encode(s)),
      fc.uint8Array({ minLength: 8, maxLength: 8 }),
    );
    const block = fc.oneof(
      jsonFrom([t.json]).map((s) => withCrc(enc.encode(s))),
      mutated([t.block]).filter((b) => b.length >= 4),
    );
    return fc.property(field, fc.nat(), block, (f, fileSize, b) => {
      try {
        const n = reader.parseLengthField(Buffer.from(f), fileSize, 'x.gvmi');
        assert.ok(Number.isInteger(n) && n >= 0, `metadata length ${n} is not a count`);
        assert.ok(n <= reader.MAX_METADATA_BYTES && n + 12 <= fileSize, `metadata length ${n} out of bounds`);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        typed(err, errs.ImageError, errs.IMAGE_ERROR_CODES);
      }
      let meta;
      try {
        meta = reader.parseMetadataBlock(Buffer.from(b), 'x.gvmi').metadata;
      } catch (err) {
        typed(err, errs.ImageError, errs.IMAGE_ERROR_CODES);
      }
      if (meta !== undefined) {
        const again = reader.parseMetadataBlock(withCrc(enc.encode(JSON.stringify(meta))), 'x.gvmi').metadata;
        assert.deepEqual(again, meta, 'parse(serialize(metadata)) is the metadata');
      }
    });
  },
};

// ---- deployment.json ------------------------------------------------------------------------------------------

const DEPLOYMENT_SEED = {
  version: 1,
  image: { path: '/var/lib/images/a.gvmi', sha3: 'ab12', size: 4498 },
  config: { env: ['PATH=/bin'], entrypoint: [], cmd: ['/bin/sh'], workingDir: '/', user: '0:0' },
  resources: { cpuCores: 2, memBytes: 536870912, storageBytes: 2147483648 },
  hostname: 'golem-vm',
  rootUpper: { kind: 'disk', path: '/w/root.img', serial: 'yaupper', sizeBytes: 1073741824 },
  volumes: [
    { kind: 'host', guestPath: '/golem/input', name: 'vol-0', hostPath: '/w/vol-0', tag: 'vol0' },
    { kind: 'ram', guestPath: '/golem/tmp', sizeBytes: 1048576 },
    {
      kind: 'storage',
      guestPath: '/data',
      sizeBytes: 1048576,
      diskPath: '/w/d.img',
      serial: 'yavol2',
      errors: 'remount-ro',
      preallocateBytes: 4096,
    },
  ],
};
const DEPLOYMENT_TMPFS = { ...DEPLOYMENT_SEED, rootUpper: { kind: 'tmpfs', sizeBytes: 0 }, volumes: [] };

/** Every number under a key naming a size or count. */
function sizesOf(v: unknown, out: number[] = []): number[] {
  if (Array.isArray(v)) v.forEach((x) => sizesOf(x, out));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'number' && /Bytes$|^size$|^cpuCores$/.test(k)) out.push(x);
      else sizesOf(x, out);
    }
  }
  return out;
}

const deployment: FuzzTarget = {
  id: 'deployment-json',
  decoder: 'src/deployment/store.ts (parseDeployment), src/deployment/deployment.ts',
  seeds: () => 2,
  mutant: {
    file: 'deployment/deployment.js',
    from: 'const bytes = z.int().check(z.nonnegative());',
    to: 'const bytes = z.number();',
    what: 'the check that byte counts are non-negative integers',
  },
  async property(load) {
    const store = await load<typeof import('../../src/deployment/store.js')>('deployment/store.js');
    const errs = await load<typeof import('../../src/deployment/errors.js')>('deployment/errors.js');
    return fc.property(jsonFrom([DEPLOYMENT_SEED, DEPLOYMENT_TMPFS]), (text) => {
      let d;
      try {
        d = store.parseDeployment(text, 'deployment.json');
      } catch (err) {
        typed(err, errs.DeploymentError, ['BAD_DEPLOYMENT']);
        return;
      }
      for (const n of sizesOf(d)) assert.ok(Number.isSafeInteger(n) && n >= 0, `size ${n} accepted`);
      assert.deepEqual(store.parseDeployment(JSON.stringify(d), 'deployment.json'), d, 'parse(write(d)) is d');
    });
  },
};

// ---- --volume-override ----------------------------------------------------------------------------------------

const OVERRIDE_SEEDS = [
  { '/golem/input': { host: {} }, '/golem/tmp': { ram: { size: '512 MiB' } } },
  { '/data': { storage: { size: '10gi', preallocate: 4096, errors: 'panic' } }, '/': { ram: { size: 1073741824 } } },
];

const volumeOverride: FuzzTarget = {
  id: 'volume-override',
  decoder: 'src/deployment/volume-override.ts',
  seeds: () => OVERRIDE_SEEDS.length,
  mutant: {
    file: 'deployment/volume-override.js',
    from: 'if (pre !== undefined && pre > sizeBytes) {',
    to: 'if (false) {',
    what: 'the check that preallocate is not larger than size',
  },
  async property(load) {
    const vo = await load<typeof import('../../src/deployment/volume-override.js')>('deployment/volume-override.js');
    const errs = await load<typeof import('../../src/deployment/errors.js')>('deployment/errors.js');
    return fc.property(jsonFrom(OVERRIDE_SEEDS), (text) => {
      let map;
      try {
        map = vo.parseVolumeOverride(text);
      } catch (err) {
        typed(err, errs.DeploymentError, errs.DEPLOYMENT_ERROR_CODES);
        return;
      }
      const back: Record<string, unknown> = {};
      for (const [guest, m] of map) {
        if (m.kind === 'host') back[guest] = { host: {} };
        else if (m.kind === 'ram') back[guest] = { ram: { size: m.sizeBytes } };
        else {
          assert.ok(m.preallocateBytes === undefined || m.preallocateBytes <= m.sizeBytes, 'preallocate <= size');
          back[guest] = {
            storage: {
              size: m.sizeBytes,
              ...(m.preallocateBytes !== undefined ? { preallocate: m.preallocateBytes } : {}),
              ...(m.errors ? { errors: m.errors } : {}),
            },
          };
        }
        if (m.kind !== 'host') assert.ok(Number.isSafeInteger(m.sizeBytes) && m.sizeBytes >= 0, 'size is a count');
      }
      assert.deepEqual(vo.parseVolumeOverride(JSON.stringify(back)), map, 'parse(write(overrides)) is the overrides');
    });
  },
};

// ---- control socket -------------------------------------------------------------------------------------------

const CONTROL_MAX = 64;
const controlMessage = (o: unknown): Uint8Array => {
  const body = enc.encode(JSON.stringify(o));
  return enc.encode(`Content-Length: ${body.length}\r\n\r\n${new TextDecoder().decode(body)}`);
};
const CONTROL_SEEDS = [
  controlMessage({ jsonrpc: '2.0', id: 1, method: 'run', params: { bin: '/bin/sh', args: ['-c', 'ls'] } }),
  controlMessage({ jsonrpc: '2.0', id: 2, method: 'kill', params: { pid: 1, signal: 9 } }),
  controlMessage({ jsonrpc: '2.0', method: 'stdin', params: { pid: 1, data: 'aGkK' } }),
  enc.encode('Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}'),
];

const control: FuzzTarget = {
  id: 'control-frames',
  decoder: 'src/control/frame-guard.ts, src/control/protocol.ts (params schemas)',
  seeds: () => CONTROL_SEEDS.length,
  mutant: {
    file: 'control/frame-guard.js',
    from: 'if (length > this.maxBody) {',
    to: 'if (false) {',
    what: "FrameGuard's check of Content-Length against the maximum body",
  },
  async property(load) {
    const fg = await load<typeof import('../../src/control/frame-guard.js')>('control/frame-guard.js');
    const proto = await load<typeof import('../../src/control/protocol.js')>('control/protocol.js');
    const errs = await load<typeof import('../../src/control/errors.js')>('control/errors.js');
    const scan = (chunks: Uint8Array[]): string | undefined => {
      const g = new fg.FrameGuard(CONTROL_MAX);
      try {
        for (const c of chunks) {
          g.check(c);
          const left = (g as unknown as { bodyLeft: number }).bodyLeft;
          assert.ok(left <= CONTROL_MAX, `FrameGuard let a body of ${left} > ${CONTROL_MAX} bytes through`);
        }
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        typed(err, errs.ControlFrameError, ['CONTROL_FRAME_HEADER', 'CONTROL_FRAME_TOO_LARGE']);
        return (err as Error).message;
      }
      return undefined;
    };
    const schemas = [
      proto.RunParamsSchema,
      proto.StdinParamsSchema,
      proto.CloseStdinParamsSchema,
      proto.KillParamsSchema,
      proto.NoParamsSchema,
      proto.OutputParamsSchema,
      proto.ExitParamsSchema,
    ];
    const params = jsonFrom([
      { bin: '/bin/sh', args: ['-c', 'ls'], env: ['A=1'], cwd: '/' },
      { pid: 1, signal: 9 },
      { pid: 1, data: 'aGkK' },
      { pid: 1, fd: 1, data: '' },
    ]);
    return fc.property(streamFrom(CONTROL_SEEDS), splits, params, (stream, s, p) => {
      assert.equal(scan(chunksOf(stream, s)), scan([stream]), 'the guard does not depend on how the socket is cut');
      const value = JSON.parse(p === '' ? 'null' : safeJson(p)) as unknown;
      for (const schema of schemas) {
        const r = schema.safeParse(value);
        if (r.success) assert.deepEqual(schema.parse(JSON.parse(JSON.stringify(r.data ?? null))), r.data ?? null);
      }
    });
  },
};

function safeJson(text: string): string {
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}

// ---- tar (image import layers) -------------------------------------------------------------------------------

async function tarSeed(entries: { path: string; type: 'file' | 'directory' | 'symlink'; body?: string }[]) {
  const { TarWriter } = await import('../../src/image/tar/writer.js');
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      parts.push(chunk);
      cb();
    },
  });
  const w = new TarWriter(out);
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    await w.add(
      {
        path: e.path,
        type: e.type,
        mode: e.type === 'directory' ? 0o755 : 0o644,
        uid: 1000,
        gid: 1000,
        uname: 'u',
        gname: 'g',
        mtime: 1700000000,
        size: e.type === 'file' ? body.length : 0,
        linkname: e.type === 'symlink' ? 'target' : '',
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
      },
      e.type === 'file' ? body : undefined,
    );
  }
  await w.finish();
  return Uint8Array.from(Buffer.concat(parts));
}

/** Structure-aware: after mutating, recompute each header block's checksum half of the time, so the mutations reach
 * the fields behind it (a libFuzzer custom mutator does the same for tar). */
function fixChecksums(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  for (let at = 0; at + 512 <= out.length; at += 512) {
    const blk = out.subarray(at, at + 512);
    if (blk.every((x) => x === 0)) continue;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : blk[i]!;
    const digits = sum.toString(8).padStart(6, '0');
    if (!/^ustar/.test(Buffer.from(blk.subarray(257, 262)).toString('latin1'))) continue;
    blk.set(enc.encode(`${digits}\0 `), 148);
  }
  return out;
}

/** Header fields [offset, length] a structure-aware edit writes into (ustar layout, src/image/tar/header.ts). */
const TAR_FIELDS: [number, number][] = [
  [0, 100], // name
  [100, 8], // mode
  [108, 8], // uid
  [116, 8], // gid
  [124, 12], // size
  [136, 12], // mtime
  [156, 1], // typeflag
  [157, 100], // linkname
  [257, 8], // magic + version
  [329, 8], // devmajor
  [337, 8], // devminor
  [345, 155], // prefix
];

type HeaderEdit = [block: number, field: number, kind: number, value: Uint8Array];

/** Field values: octal (padded or not), GNU base-256 (0x80 then big-endian bytes, or a negative 0xff), any bytes. */
const headerEdits: fc.Arbitrary<HeaderEdit[]> = fc.array(
  fc.tuple(fc.nat(8), fc.nat(TAR_FIELDS.length - 1), fc.nat(3), fc.uint8Array({ maxLength: 16 })),
  { maxLength: 3 },
);

function editHeaders(b: Uint8Array, edits: readonly HeaderEdit[]): Uint8Array {
  const out = Uint8Array.from(b);
  const blocks = Math.floor(out.length / 512);
  for (const [blk, f, kind, value] of edits) {
    if (blocks === 0) break;
    const [off, len] = TAR_FIELDS[f]!;
    const at = (blk % blocks) * 512 + off;
    const field = out.subarray(at, at + len);
    if (kind === 0) {
      const digits = enc.encode(
        Array.from(value, (x) => String(x % 8))
          .join('')
          .slice(0, len - 1),
      );
      field.fill(0);
      field.set(digits);
    } else if (kind === 1 || kind === 2) {
      field.fill(0);
      field[0] = kind === 1 ? 0x80 : 0xff;
      field.set(value.subarray(0, len - 1), Math.max(1, len - value.length));
    } else field.set(value.subarray(0, len));
  }
  return out;
}

const tar: FuzzTarget = {
  id: 'tar',
  decoder: 'src/image/tar/reader.ts, src/image/tar/header.ts',
  seeds: () => 2,
  mutant: {
    file: 'image/tar/header.js',
    from: 'v = v * 256 + (b[i] ?? 0);\n        if (!Number.isSafeInteger(v))',
    to: 'v = v * 256 + (b[i] ?? 0);\n        if (false)',
    what: "parseBase256's check that a GNU base-256 number is a safe integer",
  },
  async property(load) {
    const reader = await load<typeof import('../../src/image/tar/reader.js')>('image/tar/reader.js');
    const errs = await load<typeof import('../../src/image/tar/errors.js')>('image/tar/errors.js');
    const seeds = [
      await tarSeed([
        { path: 'etc', type: 'directory' },
        { path: 'etc/hostname', type: 'file', body: 'golem\n' },
        { path: 'bin/sh', type: 'symlink' },
      ]),
      await tarSeed([{ path: `${'d/'.repeat(60)}long-name-over-100-bytes`, type: 'file', body: 'x'.repeat(600) }]),
    ];
    const read = async (chunks: Uint8Array[]): Promise<{ entries: unknown[]; error?: string }> => {
      const entries: unknown[] = [];
      async function* src() {
        for (const c of chunks) yield Buffer.from(c);
      }
      try {
        for await (const m of reader.readTar(src(), 'layer')) {
          const e = m.entry;
          for (const n of [e.size, e.mode, e.uid, e.gid, e.mtime, e.devmajor, e.devminor]) {
            assert.ok(Number.isSafeInteger(n) && n >= 0, `${e.path}: field ${n} is not a count`);
          }
          const parts: Buffer[] = [];
          for await (const c of m.body) parts.push(c);
          assert.equal(Buffer.concat(parts).length, e.type === 'file' ? e.size : 0, `${e.path}: body length`);
          entries.push({ ...e, xattrs: [...e.xattrs] });
        }
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        typed(err, errs.TarFormatError, errs.TAR_ERROR_CODES);
        return { entries, error: (err as Error).message };
      }
      return { entries };
    };
    const input = fc
      .tuple(mutated(seeds), headerEdits, fc.boolean())
      .map(([b, edits, fix]) => (fix ? fixChecksums(editHeaders(b, edits)) : b));
    return fc.asyncProperty(input, splits, async (bytes, s) => {
      const whole = await read([bytes]);
      assert.deepEqual(await read(chunksOf(bytes, s === 'every' ? [] : s)), whole, 'entries do not depend on chunks');
    });
  },
};

// ---- OCI / docker JSON (image import) --------------------------------------------------------------------------

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const OCI_SEEDS: [string, unknown][] = [
  [
    'manifest',
    {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('a'), size: 100 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('b'), size: 200 }],
    },
  ],
  [
    'index',
    { schemaVersion: 2, manifests: [{ digest: D('c'), size: 5, platform: { architecture: 'amd64', os: 'linux' } }] },
  ],
  ['docker', [{ Config: 'c.json', RepoTags: ['a:b'], Layers: ['l/layer.tar'] }]],
  [
    'config',
    {
      architecture: 'amd64',
      os: 'linux',
      config: { User: '1000', Env: ['A=1'], Cmd: ['sh'], WorkingDir: '/w', Volumes: { '/data': {} } },
      rootfs: { type: 'layers', diff_ids: [D('d')] },
    },
  ],
];

function digestsOf(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => digestsOf(x, out));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'digest' && typeof x === 'string') out.push(x);
      else if (k === 'diff_ids' && Array.isArray(x)) out.push(...x.filter((s) => typeof s === 'string'));
      else digestsOf(x, out);
    }
  }
  return out;
}

const oci: FuzzTarget = {
  id: 'oci-json',
  decoder: 'src/image/import/resolve.ts (parseJson), src/image/import/oci-schema.ts',
  seeds: () => OCI_SEEDS.length,
  mutant: {
    file: 'image/import/oci-schema.js',
    from: '/^sha256:[0-9a-f]{64}$/',
    to: '/^sha256:/',
    what: 'the digest pattern (digests become blob paths: blobs/sha256/<hex>)',
  },
  async property(load) {
    const resolve = await load<typeof import('../../src/image/import/resolve.js')>('image/import/resolve.js');
    const schema = await load<typeof import('../../src/image/import/oci-schema.js')>('image/import/oci-schema.js');
    const errs = await load<typeof import('../../src/image/errors.js')>('image/errors.js');
    const kinds = {
      manifest: schema.manifestSchema,
      index: schema.indexSchema,
      docker: schema.dockerManifestSchema,
      config: schema.imageJsonSchema,
    } as const;
    const docs = fc
      .constantFrom(...OCI_SEEDS)
      .chain(([kind, doc]) => jsonFrom([doc]).map((text) => [kind as keyof typeof kinds, text] as const));
    return fc.property(docs, ([kind, text]) => {
      let v;
      try {
        v = resolve.parseJson(Buffer.from(text), kinds[kind] as never, kind);
      } catch (err) {
        typed(err, errs.PackError, ['PACK_BAD_MANIFEST']);
        return;
      }
      for (const d of digestsOf(v)) assert.match(d, /^sha256:[0-9a-f]{64}$/, 'a digest is a safe blob path');
      const again = resolve.parseJson(Buffer.from(JSON.stringify(v)), kinds[kind] as never, kind);
      assert.deepEqual(again, v, 'parse(write(document)) is the document');
    });
  },
};

// ---- networking: endpoints, CreateNetwork, addresses ------------------------------------------------------------

const ENDPOINT_SEEDS = ['udp://127.0.0.1:40000', 'tcp-connect://127.0.0.2:1/', 'unix:///tmp/x', 'udp://10.0.0.1:5'];
const NETWORK_SEED = {
  role: 'vpn',
  networks: [{ addr: '192.168.0.0', gateway: '192.168.0.1', mask: '255.255.255.0', ifAddr: '192.168.0.2' }],
  hosts: { '192.168.0.3': 'peer-1', '192.168.0.1': 'gw' },
};

function asCreateNetwork(v: unknown): import('../../src/network/plan.js').CreateNetworkRequest {
  const o = (v !== null && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const str = (x: unknown): string => (typeof x === 'string' ? x : x === undefined ? '' : JSON.stringify(x));
  const nets = Array.isArray(o.networks) ? o.networks : [];
  const hosts = o.hosts !== null && typeof o.hosts === 'object' ? (o.hosts as Record<string, unknown>) : {};
  return {
    role: o.role === 'inet' ? 'inet' : 'vpn',
    networks: nets.map((n) => {
      const r = (n !== null && typeof n === 'object' ? n : {}) as Record<string, unknown>;
      return { addr: str(r.addr), gateway: str(r.gateway), mask: str(r.mask), ifAddr: str(r.ifAddr) };
    }),
    hosts: Object.fromEntries(Object.entries(hosts).map(([k, x]) => [k, str(x)])),
  };
}

const network: FuzzTarget = {
  id: 'network',
  decoder: 'src/network/endpoint.ts, src/network/plan.ts (planNic), src/net-address.ts',
  seeds: () => ENDPOINT_SEEDS.length + 1,
  mutant: {
    file: 'network/endpoint.js',
    from: 'if (port < 1 || port > 65535)',
    to: 'if (false)',
    what: "parseEndpoint's port range check",
  },
  async property(load) {
    const ep = await load<typeof import('../../src/network/endpoint.js')>('network/endpoint.js');
    const plan = await load<typeof import('../../src/network/plan.js')>('network/plan.js');
    const na = await load<typeof import('../../src/net-address.js')>('net-address.js');
    const errs = await load<typeof import('../../src/network/errors.js')>('network/errors.js');
    const endpoint = fc.oneof(
      mutated(ENDPOINT_SEEDS.map((s) => enc.encode(s))).map((b) => new TextDecoder().decode(b)),
      fc
        .tuple(fc.constantFrom('udp', 'tcp-connect'), fc.nat(255), fc.nat(99999))
        .map(([s, o, p]) => `${s}://127.0.0.${o}:${p}`),
    );
    return fc.property(
      fc.constantFrom<'vpn' | 'inet'>('vpn', 'inet'),
      endpoint,
      jsonFrom([NETWORK_SEED]),
      fc.string({ maxLength: 20 }),
      (role, text, req, addr) => {
        try {
          const e = ep.parseEndpoint(role, text);
          assert.ok(e.port >= 1 && e.port <= 65535, `port ${e.port} accepted`);
          const again = ep.parseEndpoint(
            role,
            `${e.transport === 'udp' ? 'udp' : 'tcp-connect'}://${e.host}:${e.port}`,
          );
          assert.deepEqual(again, e, 'parse(format(endpoint)) is the endpoint');
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          typed(err, errs.NetworkError, errs.NETWORK_ERROR_CODES);
        }
        try {
          // planNic takes what the service decoded from CreateNetwork (protobuf: strings, lists, a map of strings),
          // so the mutated JSON is given that shape first; every value stays what the mutations made of it.
          plan.planNic(asCreateNetwork(JSON.parse(safeJson(req)) as unknown));
        } catch (err) {
          typed(err, errs.NetworkError, errs.NETWORK_ERROR_CODES);
        }
        const v = na.parseIpv4(addr);
        if (v !== undefined) {
          assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, `address ${v}`);
          assert.equal(na.parseIpv4(na.formatIpv4(v)), v, 'parse(format(address)) is the address');
        }
        const mac = na.parseMac(addr);
        if (mac !== undefined) assert.deepEqual(na.parseMac(na.formatMac(mac)), mac, 'parse(format(mac)) is the mac');
      },
    );
  },
};

export const TARGETS: FuzzTarget[] = [runtimeApi, guest, gvmi, deployment, volumeOverride, control, tar, oci, network];
