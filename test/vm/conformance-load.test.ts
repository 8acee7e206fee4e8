/**
 * Exec under real load through the service protocol (issue 9), driven by the independent ExeUnit-like client, in a
 * small offer (1 vCPU, 0.5 GiB): dozens of chatty outputs in one activity arrive byte-exact with the VM alive, a
 * command that starts a background server returns at once, 4 concurrent processes each get exact streams,
 * KillProcess ends a running process tree, and the console shows no oops (removeTestDir checks it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOrderlyShutdown, testImage } from '../helpers/vm.js';
import { chatterArgv, verifyChatter, type ChatterSpec } from '../helpers/chatter.js';
import { waitFor } from '../helpers/wait.js';
import { finish, spawnRuntime } from '../helpers/service-runtime.js';

test('service mode, 1 vCPU / 0.5 GiB: chatty outputs, background servers, concurrent processes, tree kill', async () => {
  const rt = await spawnRuntime(testImage(), { cpuCores: 1, memGib: 0.5, storageGib: 1 });
  const { client, workdir } = rt;
  try {
    assert.equal(await client.hello('0.1.0'), '0.1.0');
    const chatty = async (spec: ChatterSpec, what: string): Promise<void> => {
      const [bin, ...args] = chatterArgv(spec);
      const r = await client.run(`/usr/local/bin/${bin}`, args);
      assert.equal(r.code, 0, `${what}: ${r.stderr.toString().slice(0, 200)}`);
      assert.deepEqual(verifyChatter(r.stdout, r.stderr, spec), [], what);
    };
    for (let i = 0; i < 30; i++) {
      const spec: ChatterSpec =
        i % 3 === 0
          ? { procs: 1, lines: 10_000, stderr: false }
          : i % 3 === 1
            ? { procs: 3, lines: 3000, stderr: true }
            : { procs: 2, lines: 5000, stderr: true };
      await chatty(spec, `chatty command ${i}`);
    }

    // A server started in the background, logging to the stdout it inherited: the command returns at once.
    const server = await client.run('/bin/sh', [
      '-c',
      '(while :; do echo server-log; sleep 0.2; done) & echo $! > /tmp/server.pid; echo started',
    ]);
    assert.equal(server.code, 0);
    // What the server logged before its starter was reaped was in the pipe then, so it may come too.
    assert.match(server.stdout.toString(), /^(server-log\n)*started\n(server-log\n)*$/);
    const httpd = await client.run('/bin/sh', ['-c', 'httpd -p 127.0.0.1:8080 -h /etc && echo httpd-started']);
    assert.equal(httpd.stdout.toString(), 'httpd-started\n');
    const fetched = await client.run('/bin/wget', ['-q', '-O', '-', 'http://127.0.0.1:8080/test-image']);
    assert.equal(fetched.stdout.toString(), 'ya-runtime-vm busybox test image\n');
    assert.equal(
      (await client.run('/bin/sh', ['-c', 'kill -0 $(cat /tmp/server.pid) && echo alive'])).stdout.toString(),
      'alive\n',
    );

    // 4 processes at once, each with its own exact streams.
    const four: ChatterSpec = { procs: 2, lines: 4000, stderr: true };
    const [bin, ...args] = chatterArgv(four);
    const results = await Promise.all([0, 1, 2, 3].map(() => client.run(`/usr/local/bin/${bin}`, args)));
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0);
      assert.deepEqual(verifyChatter(r.stdout, r.stderr, four), [], `concurrent process ${i}`);
    }

    // KillProcess on a running process tree ends all of it.
    const seen = client.responses.length;
    const tree = client.run('/bin/sh', ['-c', 'sleep 1001 & sleep 1001 & echo ready; wait']);
    const reply = await client.waitFor((r) => r.kind === 'run' && client.responses.indexOf(r) >= seen, 30_000);
    assert.ok(reply.kind === 'run');
    await client.waitFor(
      (r) => r.kind === 'status' && r.status.pid === reply.pid && r.status.stdout.toString().includes('ready'),
      30_000,
    );
    await client.kill(reply.pid, 15);
    const killed = await tree;
    assert.equal(killed.code, 143);
    let left = '';
    // Was 50 tries 100 ms apart.
    await waitFor(
      'the background sleeps of the killed tree to end',
      async () =>
        (left = (
          await client.run('/bin/sh', ['-c', "ps -o stat,args | grep -v '^Z' | grep '[s]leep 1001' || true"])
        ).stdout.toString()) === '',
      { timeoutMs: 5000, intervalMs: 100, detail: () => `left:\n${left}` },
    );
    assert.equal(left, '', 'the background sleeps of the killed tree are gone');

    assert.equal((await client.run('/bin/echo', ['alive'])).stdout.toString(), 'alive\n');
    assert.equal((await client.shutdown(10_000)).code, 0);
    await assertOrderlyShutdown(workdir);
  } finally {
    await finish(rt);
  }
});
