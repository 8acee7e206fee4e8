import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createShortPath, MAX_SOCKET_PATH_BYTES, SocketPathError, socketPathFits } from '../../src/unix-socket-path.js';

describe('short socket paths', () => {
  it('knows the limit', () => {
    assert.ok(socketPathFits('/' + 'a'.repeat(106)));
    assert.ok(!socketPathFits('/' + 'a'.repeat(107)));
  });

  it('binds a socket that lives in a 200-byte-deep directory through a short symlink', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-'));
    const deep = path.join(root, 'x'.repeat(60), 'y'.repeat(60), 'z'.repeat(60), 'run');
    await fs.mkdir(deep, { recursive: true });
    assert.ok(Buffer.byteLength(path.join(deep, 'agent.sock')) > MAX_SOCKET_PATH_BYTES);
    const sp = await createShortPath(deep);
    try {
      const sock = sp.socket('agent.sock');
      assert.ok(Buffer.byteLength(sock) <= MAX_SOCKET_PATH_BYTES, sock);
      const server = net.createServer();
      await new Promise<void>((res, rej) => server.listen(sock, res).once('error', rej));
      assert.ok((await fs.stat(path.join(deep, 'agent.sock'))).isSocket(), 'the socket lives in the deep directory');
      const c = net.connect(sock);
      await new Promise<void>((res, rej) => c.once('connect', res).once('error', rej));
      c.destroy();
      await new Promise<void>((res) => server.close(() => res()));
      assert.throws(() => sp.socket('n'.repeat(120)), SocketPathError);
    } finally {
      await sp.dispose();
      await sp.dispose();
    }
    await assert.rejects(fs.lstat(sp.dir), { code: 'ENOENT' });
    await assert.rejects(fs.lstat(path.dirname(sp.dir)), { code: 'ENOENT' });
    assert.ok((await fs.stat(deep)).isDirectory(), 'dispose leaves the target alone');
    await fs.rm(root, { recursive: true });
  });

  it('sweeps directories whose link dangles, and only those', async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'spb-'));
    const live = await fs.mkdtemp(path.join(os.tmpdir(), 'spt-'));
    await fs.mkdir(path.join(base, 'yavm-dead'));
    await fs.symlink('/nonexistent/run', path.join(base, 'yavm-dead', 'r'));
    await fs.mkdir(path.join(base, 'yavm-live'));
    await fs.symlink(live, path.join(base, 'yavm-live', 'r'));
    await fs.mkdir(path.join(base, 'yavm-empty'));
    const sp = await createShortPath(live, { bases: [base] });
    const names = (await fs.readdir(base)).sort();
    assert.deepEqual(
      names.filter((n) => !sp.dir.includes(n)),
      ['yavm-empty', 'yavm-live'],
    );
    await sp.dispose();
    await fs.rm(base, { recursive: true });
    await fs.rm(live, { recursive: true });
  });

  it('skips bases that are too long', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-'));
    const sp = await createShortPath(root, { bases: ['/' + 'q'.repeat(100), os.tmpdir()] });
    assert.ok(sp.dir.startsWith(os.tmpdir()));
    await sp.dispose();
    await assert.rejects(createShortPath(root, { bases: ['/' + 'q'.repeat(100)] }), SocketPathError);
    await fs.rm(root, { recursive: true });
  });
});
