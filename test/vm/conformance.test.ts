/**
 * Conformance (issue 5): the runtime driven exactly as yagna's ExeUnit drives it, by an independent client
 * (test/helpers/exeunit-client.ts): spawned with cwd = workdir and the ExeUnit's argv, Hello with id 2, RunProcess
 * with args[0] = basename, pid binding by first unseen pid, Shutdown then exit.
 * YA_CONFORMANCE_IMAGE selects another image (the Debian one in CI: see the second suite).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { ExeUnitClient } from '../helpers/exeunit-client.js';
import { assertOrderlyShutdown, deployTo, longWorkdir, testImage, waitNoneAlive } from '../helpers/vm.js';
import { debianImage } from '../helpers/images.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { finish, spawnRuntime } from '../helpers/service-runtime.js';

function conformance(name: string, image: () => string | undefined): void {
  describe(name, () => {
    test('Hello, 20 commands in a row with state kept, a failing command, a missing binary, Shutdown', async (t) => {
      const img = image();
      if (!img) return t.skip('image not available');
      const { client, workdir, base } = await spawnRuntime(img);
      try {
        assert.equal(await client.hello('0.1.0'), '0.1.0');
        await client.run('/bin/sh', ['-c', 'echo 0 > /tmp/counter']);
        for (let i = 1; i <= 20; i++) {
          const r = await client.run('/bin/sh', [
            '-c',
            'n=$(cat /tmp/counter); n=$((n+1)); echo $n > /tmp/counter; echo $n',
          ]);
          assert.equal(r.code, 0);
          assert.equal(r.stdout.toString(), `${i}\n`);
        }
        const fail = await client.run('/bin/sh', ['-c', 'echo oops >&2; exit 7']);
        assert.equal(fail.code, 7);
        assert.equal(fail.stderr.toString(), 'oops\n');
        const err = await client.runExpectError('/no/such/binary', []);
        assert.equal(err.code, 1, `NOT_FOUND, got ${JSON.stringify(err)}`);
        assert.match(err.message, /\/no\/such\/binary/);
        // The runtime keeps serving after the error.
        assert.equal((await client.run('/bin/echo', ['still', 'here'])).stdout.toString(), 'still here\n');
        const exit = await client.shutdown(10_000);
        assert.equal(exit.code, 0);
        await assertOrderlyShutdown(workdir); // Shutdown lets the guest sync and power off; QEMU is not killed
      } finally {
        await finish({ client, workdir, base });
      }
    });

    test('50 MiB of output arrives whole', async (t) => {
      const img = image();
      if (!img) return t.skip('image not available');
      const { client, workdir, base } = await spawnRuntime(img);
      try {
        await client.hello();
        const r = await client.run('/bin/sh', [
          '-c',
          'head -c 52428800 /dev/urandom > /tmp/f; sha256sum /tmp/f >&2; cat /tmp/f',
        ]);
        assert.equal(r.code, 0);
        assert.equal(r.stdout.length, 50 * 1024 * 1024);
        assert.equal(createHash('sha256').update(r.stdout).digest('hex'), r.stderr.toString().split(' ')[0]);
        await client.shutdown(10_000);
      } finally {
        await finish({ client, workdir, base });
      }
    });
  });
}

conformance('conformance: busybox test image', () => testImage());
conformance('conformance: Debian minimal image', () => debianImage());

test('stdin EOF cleans up and exits 0', async () => {
  const { client, workdir, base } = await spawnRuntime(testImage());
  try {
    await client.hello();
    assert.equal((await client.run('/bin/echo', ['x'])).code, 0);
    client.closeStdin();
    const exit = await client.exited;
    assert.equal(exit.code, 0);
    assert.deepEqual(await waitNoneAlive(workdir, 5000), []);
  } finally {
    await finish({ client, workdir, base });
  }
});

test('SIGKILL of the runtime leaves no QEMU or virtiofsd', async () => {
  const { client, workdir, base } = await spawnRuntime(testImage());
  try {
    await client.hello();
    assert.ok((await waitNoneAlive(workdir, 0)).length >= 1, 'QEMU runs while the activity is up');
    client.child.kill('SIGKILL');
    await client.exited;
    assert.deepEqual(await waitNoneAlive(workdir, 10_000), []);
  } finally {
    await finish({ client, workdir, base });
  }
});

test('malformed frames get an Error reply and the runtime keeps serving; CreateNetwork without an endpoint is refused', async () => {
  const { client, workdir, base } = await spawnRuntime(testImage());
  try {
    await client.hello();
    // A 3-byte frame holding an invalid protobuf (field 1 with wire type 7).
    client.sendRaw(Uint8Array.from([0x03, 0x0f, 0xff, 0xff]));
    await client.waitFor((r) => r.kind === 'error' && r.id === 0, 10_000);
    const net = await client.request({ network: { networks: [], hosts: {}, interface: 1 } });
    assert.equal(net.kind, 'error');
    assert.match(net.kind === 'error' ? net.error.message : '', /started without --inet-endpoint/);
    assert.equal((await client.run('/bin/echo', ['ok'])).stdout.toString(), 'ok\n');
    await client.shutdown(10_000);
  } finally {
    await finish({ client, workdir, base });
  }
});

test('files the guest writes into a host volume are on the host when the exit event arrives', async () => {
  const { client, workdir, base } = await spawnRuntime(testImage());
  try {
    await client.hello();
    const r = await client.run('/bin/sh', ['-c', 'echo result > /golem/output/out.txt']);
    assert.equal(r.code, 0);
    const dep = JSON.parse(await fs.readFile(path.join(workdir, 'deployment.json'), 'utf8'));
    const vol = dep.volumes.find((v: { guestPath: string }) => v.guestPath === '/golem/output');
    assert.equal(await fs.readFile(path.join(vol.hostPath, 'out.txt'), 'utf8'), 'result\n');
    await client.shutdown(10_000);
  } finally {
    await finish({ client, workdir, base });
  }
});

test('start-entrypoint runs the image Entrypoint + Cmd once the VM is up; its output goes to logs/entrypoint.log', async () => {
  const { workdir, base } = await longWorkdir();
  const rootfs = path.join(base, 'rootfs');
  const { execa } = await import('execa');
  await execa('bash', ['scripts/make-test-image', '--rootfs', rootfs], { cwd: REPO_ROOT });
  const img = path.join(base, 'ep.gvmi');
  const packed = await runCli([
    'pack',
    rootfs,
    '-o',
    img,
    '--env',
    'PATH=/bin',
    '--volume',
    '/golem/output',
    '--entrypoint',
    '/bin/sh',
    '--cmd',
    '-c',
    '--cmd',
    'echo entrypoint-ran > /golem/output/ep.txt; echo to-log; sleep 1000',
  ]);
  assert.equal(packed.code, 0, packed.stderr);
  await deployTo(workdir, img);
  const client = ExeUnitClient.spawn({
    workdir,
    globalArgs: ['--workdir', workdir, '--task-package', img],
    startArgs: ['start-entrypoint'],
  });
  try {
    await client.hello();
    const dep = JSON.parse(await fs.readFile(path.join(workdir, 'deployment.json'), 'utf8'));
    const out = dep.volumes.find((v: { guestPath: string }) => v.guestPath === '/golem/output').hostPath;
    // Its content, not its existence: the shell creates the file before echo writes into it.
    await waitFor(
      'the start entrypoint to write ep.txt',
      async () => (await fs.readFile(path.join(out, 'ep.txt'), 'utf8').catch(() => '')) !== '',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    assert.equal(await fs.readFile(path.join(out, 'ep.txt'), 'utf8'), 'entrypoint-ran\n');
    // A command after it is bound to its own pid (no stray events from the background entrypoint).
    assert.equal((await client.run('/bin/echo', ['after'])).stdout.toString(), 'after\n');
    assert.match(await fs.readFile(path.join(workdir, 'logs', 'entrypoint.log'), 'utf8'), /to-log/);
    assert.equal((await client.shutdown(10_000)).code, 0);
  } finally {
    await finish({ client, workdir, base });
  }
});

test("Shutdown while the VM is still booting cancels the boot and exits within the ExeUnit's 5 s", async () => {
  const { client, workdir, base } = await spawnRuntime(testImage());
  try {
    const hello = client.request({ hello: { version: '0.1.0' } }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const exit = await client.shutdown(5000);
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - started < 5000);
    await hello;
    assert.deepEqual(await waitNoneAlive(workdir, 3000), []);
  } finally {
    await finish({ client, workdir, base });
  }
});

test('stdin EOF before any Hello cancels the boot begun for it, exits 0 and leaves nothing', async () => {
  // start begins booting before the Hello arrives (src/cli/start.ts): a service that ends first must undo that.
  for (const delayMs of [0, 400]) {
    const { client, workdir, base } = await spawnRuntime(testImage());
    try {
      await new Promise((r) => setTimeout(r, delayMs));
      const started = Date.now();
      client.closeStdin();
      const exit = await client.exited;
      assert.equal(exit.code, 0, `EOF after ${delayMs} ms`);
      assert.ok(Date.now() - started < 5000, `EOF after ${delayMs} ms: exited within 5 s`);
      assert.deepEqual(await waitNoneAlive(workdir, 3000), [], `EOF after ${delayMs} ms`);
      assert.deepEqual(client.violations, []);
    } finally {
      await finish({ client, workdir, base });
    }
  }
});
