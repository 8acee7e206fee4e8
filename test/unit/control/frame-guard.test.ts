import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControlFrameError } from '../../../src/control/errors.js';
import { FrameGuard } from '../../../src/control/frame-guard.js';
import { bindablePath } from '../../../src/control/socket-path.js';
import { withSeed } from '../../helpers/random.js';

function frame(body: string, extraHeader = ''): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n${extraHeader}\r\n`, 'ascii'), b]);
}

describe('FrameGuard', () => {
  const stream = Buffer.concat([
    frame('{"jsonrpc":"2.0","method":"x"}'),
    frame(
      '{"a":"\r\n\r\nContent-Length: 99999999\r\n\r\n"}',
      'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n',
    ),
    frame(''),
    frame('{}'),
  ]);

  /**
   * Feeds `chunks` and asserts what acceptance means: no chunk throws, and the guard ends at a frame boundary, having
   * skipped exactly each body (the second one holds a fake oversized header): the next header is checked, so an
   * oversized one is refused at once while a fitting frame is accepted.
   */
  function assertAccepts(chunks: Uint8Array[], what: string): void {
    const feed = (): FrameGuard => {
      const g = new FrameGuard(100);
      for (const [i, c] of chunks.entries()) assert.doesNotThrow(() => g.check(c), `${what}: chunk ${i} refused`);
      return g;
    };
    assert.doesNotThrow(() => feed().check(frame('{"after":1}')), `${what}: a frame after the stream refused`);
    assert.throws(
      () => feed().check(Buffer.from('Content-Length: 101\r\n\r\n')),
      (err: unknown) => err instanceof ControlFrameError && err.code === 'CONTROL_FRAME_TOO_LARGE',
      `${what}: the guard did not end at a frame boundary`,
    );
  }

  it('accepts frames within the limit split at every byte', () => {
    for (let at = 0; at <= stream.length; at++) {
      assertAccepts([stream.subarray(0, at), stream.subarray(at)], `split at ${at}`);
    }
    assertAccepts(
      [...stream].map((byte) => Uint8Array.of(byte)),
      'byte by byte',
    );
  });

  it('accepts random chunkings', () =>
    withSeed((rnd) => {
      for (let round = 0; round < 200; round++) {
        const chunks: Uint8Array[] = [];
        let off = 0;
        while (off < stream.length) {
          const n = rnd.int(1, 20);
          chunks.push(stream.subarray(off, off + n));
          off += n;
        }
        assertAccepts(chunks, `round ${round}`);
      }
    }));

  it('rejects an oversized frame from its header, before the body', () => {
    const g = new FrameGuard(100);
    g.check(frame('{}'));
    assert.throws(
      () => g.check(Buffer.from('Content-Length: 101\r\n\r\n')),
      (err: unknown) =>
        err instanceof ControlFrameError &&
        err.code === 'CONTROL_FRAME_TOO_LARGE' &&
        /101 bytes exceeds the limit of 100/.test(err.message),
    );
  });

  it('rejects malformed headers', () => {
    assert.throws(() => new FrameGuard(100).check(Buffer.from('Content-Type: x\r\n\r\n')), /without Content-Length/);
    assert.throws(
      () => new FrameGuard(100).check(Buffer.from('Content-Length: -1\r\n\r\n')),
      /bad Content-Length "-1"/,
    );
    assert.throws(() => new FrameGuard(100).check(Buffer.alloc(9000, 0x41)), /header longer than 8192 bytes/);
  });
});

describe('bindablePath', () => {
  it('keeps a short absolute path', () => {
    assert.equal(bindablePath('/tmp/w/control.sock', '/'), '/tmp/w/control.sock');
    assert.equal(bindablePath('control.sock', '/tmp/w'), '/tmp/w/control.sock');
  });

  it('falls back to a relative path for long workdirs', () => {
    const wd = `/home/provider/.local/share/yagna/${'a'.repeat(64)}/${'b'.repeat(40)}`;
    assert.equal(bindablePath(`${wd}/control.sock`, wd), './control.sock');
    assert.equal(bindablePath(`${wd}/control.sock`, `${wd}/sub`), '../control.sock');
  });

  it('throws when neither fits in 107 bytes', () => {
    const wd = `/x/${'a'.repeat(120)}`;
    assert.throws(() => bindablePath(`${wd}/control.sock`, '/'), /over the unix socket limit of 107/);
  });
});
