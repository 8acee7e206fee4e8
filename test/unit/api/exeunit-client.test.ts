import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ExeUnitClient,
  ExeUnitRequestError,
  FrameSplitter,
  WireError,
  decodeResponse,
  delimit,
  encodeRequest,
  type DecodedResponse,
  type RequestCommand,
} from '../../helpers/exeunit-client.js';
import { fromHex, loadFrameVectors, toHex } from '../../helpers/runtime-api-vectors.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const vectors = loadFrameVectors();
const strip = (frame: Uint8Array): Uint8Array => {
  const s = new FrameSplitter();
  const [body] = s.push(frame);
  assert.ok(body && s.pending === 0);
  return body;
};

describe('exeunit-wire encoder', () => {
  it('encodes every request vector byte for byte', () => {
    const requests: [string, number, RequestCommand][] = [
      ['Hello{version:"0.1.0"}, id 2', 2, { hello: { version: '0.1.0' } }],
      ['RunProcess{bin:"/bin/echo"', 3, { run: { bin: '/bin/echo', args: ['echo', 'hi'] } }],
      ['KillProcess{pid:1, signal:15}', 4, { kill: { pid: 1, signal: 15 } }],
      ['Shutdown{}, id 5', 5, { shutdown: {} }],
      [
        'CreateNetwork',
        6,
        {
          network: {
            networks: [{ addr: '10.42.42.1', gateway: '10.42.42.1', mask: '255.255.255.0', ifAddr: '10.42.42.2' }],
            interface: 1,
          },
        },
      ],
    ];
    const requestVectors = vectors.filter((v) => v.direction === 'request');
    assert.equal(requestVectors.length, requests.length, 'a request vector has no encoder case');
    for (const [name, id, command] of requests) {
      const v = requestVectors.find((x) => x.description.startsWith(name));
      assert.ok(v, `no vector ${name}`);
      assert.equal(toHex(delimit(encodeRequest(id, command))), toHex(v.frame), name);
    }
  });

  it('encodes negative int32 as a 10-byte varint and keeps empty repeated strings', () => {
    assert.equal(toHex(encodeRequest(1, { kill: { pid: 1, signal: -1 } })), '08015a0d080110ffffffffffffffffff01');
    assert.equal(toHex(encodeRequest(1, { run: { bin: 'x', args: [''] } })), '080152050a01781200');
    assert.equal(toHex(encodeRequest(7, {})), '0807');
  });
});

describe('exeunit-wire decoder', () => {
  it('decodes every response vector', () => {
    const expected: Record<string, Partial<DecodedResponse> & Record<string, unknown>> = {
      'Hello{version:"0.1.0"}, id 2': { id: 2, event: false, kind: 'hello', version: '0.1.0' },
      'RunProcess{pid:1}, id 3': { id: 3, kind: 'run', pid: 1 },
      'event ProcessStatus{pid:1, running:true': {
        event: true,
        kind: 'status',
        status: { pid: 1, running: true, returnCode: 0, stdout: Buffer.from('hi\n'), stderr: Buffer.alloc(0) },
      },
      'event ProcessStatus{pid:1, running:false, return_code:0}': {
        kind: 'status',
        status: { pid: 1, running: false, returnCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
      },
      'event ProcessStatus{pid:1, running:false, return_code:1}': {
        kind: 'status',
        status: { pid: 1, running: false, returnCode: 1, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
      },
      'event ProcessStatus{pid:7, running:false, return_code:-1}': {
        kind: 'status',
        status: { pid: 7, running: false, returnCode: -1, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
      },
      'KillProcess{}, id 4': { id: 4, kind: 'kill' },
      'Shutdown{}, id 5': { id: 5, kind: 'shutdown' },
      'Error{code:INTERNAL, message:"x"}, id 5': {
        id: 5,
        kind: 'error',
        error: { code: 0, message: 'x', context: {} },
      },
      'event RuntimeStatus{counter{name:"golem.usage.custom", value:1.5}}': {
        event: true,
        kind: 'counter',
        name: 'golem.usage.custom',
        value: 1.5,
      },
    };
    const responses = vectors.filter((v) => v.direction === 'response');
    assert.equal(responses.length, Object.keys(expected).length);
    for (const v of responses) {
      const key = Object.keys(expected).find((k) => v.description.startsWith(k));
      assert.ok(key, `no expectation for ${v.description}`);
      const got = decodeResponse(strip(v.frame));
      assert.deepEqual({ ...got, ...expected[key] }, got, v.description);
    }
  });

  it('accepts default values written explicitly', () => {
    const got = decodeResponse(fromHex('08001000a20106080110001800'));
    assert.equal(got.kind, 'status');
    assert.deepEqual(got.status, {
      pid: 1,
      running: false,
      returnCode: 0,
      stdout: Buffer.alloc(0),
      stderr: Buffer.alloc(0),
    });
  });

  it('rejects a response without a command, and broken fields', () => {
    assert.throws(() => decodeResponse(fromHex('0801')), new WireError('response without a command'));
    assert.throws(() => decodeResponse(fromHex('1002220a01')), new WireError('field 4 overruns the message'));
    assert.throws(() => decodeResponse(fromHex('0f')), new WireError('field 1 has unsupported wire type 7'));
  });

  it('splits frames at every byte', () => {
    const all = Buffer.concat(vectors.map((v) => v.frame));
    for (let cut = 0; cut <= all.length; cut++) {
      const s = new FrameSplitter();
      const got = [...s.push(all.subarray(0, cut)), ...s.push(all.subarray(cut))];
      assert.equal(got.length, vectors.length, `cut ${cut}`);
      assert.equal(s.pending, 0);
    }
  });
});

describe('ExeUnitClient against the real service loop (host-exec fixture)', () => {
  const fixture = path.join(REPO_ROOT, 'dist', 'test', 'fixtures', 'fake-runtime.js');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exeunit-client-'));
  const clients: ExeUnitClient[] = [];
  const open = (env: NodeJS.ProcessEnv = process.env, globalArgs = ['--workdir', tmp]): ExeUnitClient => {
    const c = ExeUnitClient.spawn({ workdir: tmp, command: [process.execPath, fixture], globalArgs, env });
    clients.push(c);
    return c;
  };
  after(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('spawns with cwd = workdir and global options before start; runs commands; shuts down with 0', async () => {
    const c = open(process.env, ['--workdir', tmp, '--mem-gib', '0.5', '--unknown-option', 'x']);
    assert.equal(await c.hello(), '0.1.0');
    const echo = await c.run('/bin/echo', ['hi']);
    assert.deepEqual(
      [echo.code, echo.stdout.toString(), echo.stderr.toString(), echo.pid, echo.replyPid],
      [0, 'hi\n', '', 1, 1],
    );
    const sh = await c.run('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([sh.code, sh.stdout.toString(), sh.stderr.toString(), sh.pid], [3, 'out\n', 'err\n', 2]);
    const big = await c.run('/bin/sh', ['-c', 'head -c 3000000 /dev/zero; printf END']);
    assert.equal(big.stdout.length, 3000003);
    assert.equal(big.stdout.subarray(-3).toString(), 'END');
    assert.deepEqual(await c.shutdown(), { code: 0, signal: null });
    assert.deepEqual(c.violations, []);
    const startLine = JSON.parse(c.stderrText().split('\n')[0]!) as { cwd: string; argv: string[] };
    assert.equal(startLine.cwd, fs.realpathSync(tmp));
    assert.deepEqual(startLine.argv, ['--workdir', tmp, '--mem-gib', '0.5', '--unknown-option', 'x', 'start']);
    const requestIds = c.responses.filter((r) => !r.event).map((r) => r.id);
    assert.deepEqual(requestIds, [2, 3, 4, 5, 6]);
  });

  it('gets NOT_FOUND for a missing binary, an id-0 error for a malformed frame, and keeps going', async () => {
    const c = open();
    await c.hello();
    assert.deepEqual(await c.runExpectError('/no/such/bin'), {
      code: 1,
      message: 'cannot start /no/such/bin: spawn /no/such/bin ENOENT',
      context: { code: 'EXEC_FAILED' },
    });
    c.sendRaw(fromHex('050a05616263')); // a frame whose body is not a Request
    const err = await c.waitFor((r) => r.id === 0 && r.kind === 'error');
    assert.equal(err.kind === 'error' && err.error.message, 'malformed request frame (5 bytes): premature EOF');
    assert.equal((await c.run('/bin/true')).code, 0);
    c.closeStdin();
    assert.deepEqual(await c.exited, { code: 0, signal: null });
    assert.deepEqual(c.violations, []);
  });

  it('kills a running process', async () => {
    const c = open();
    await c.hello();
    const running = c.run('/bin/sleep', ['30']);
    const reply = await c.waitFor((r) => r.kind === 'run');
    await c.kill(reply.kind === 'run' ? reply.pid : -1, 15);
    assert.equal((await running).code, 128 + 15);
    await c.shutdown();
  });

  it('fails hello with the boot error', async () => {
    const c = open({ ...process.env, FAKE_BOOT_FAIL: '1' });
    await assert.rejects(c.hello(), (e: unknown) => {
      assert.ok(e instanceof ExeUnitRequestError);
      assert.equal(e.message, 'request 2 failed: [INTERNAL] VM failed to start: no KVM');
      return true;
    });
    await c.shutdown();
  });

  it('treats a response without a command as fatal, like the ExeUnit', async () => {
    const c = ExeUnitClient.spawn({
      workdir: tmp,
      command: [
        process.execPath,
        '-e',
        "process.stdout.write(Buffer.from('020801', 'hex')); setTimeout(() => {}, 10000)",
      ],
    });
    clients.push(c);
    await assert.rejects(c.hello(), /runtime wrote an invalid frame: response without a command/);
    assert.deepEqual(c.violations, ['invalid frame on stdout: response without a command']);
    assert.equal((await c.exited).signal, 'SIGKILL');
  });
});
