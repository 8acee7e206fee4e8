/** Exec semantics and output integrity in a real VM (issue 3). One VM for the file; each test runs commands in it. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { bootTestVm, run, sh, testImage, type TestVm } from '../helpers/vm.js';

let vm: TestVm;
before(async () => {
  vm = await bootTestVm();
});
after(async () => {
  await vm?.dispose();
});

test('echo: output and exit code 0', async () => {
  const r = await run(vm.activity, ['echo', 'hello', 'world']);
  assert.equal(r.code, 0);
  assert.equal(r.signal, null);
  assert.equal(r.stdout.toString(), 'hello world\n');
});

test('a non-zero exit code is reported as is', async () => {
  const r = await sh(vm.activity, 'echo to-stderr >&2; exit 3');
  assert.equal(r.code, 3);
  assert.equal(r.stderr.toString(), 'to-stderr\n');
});

test('exit codes 0..255 round-trip (table)', async () => {
  for (const code of [0, 1, 2, 42, 126, 127, 128, 200, 255]) {
    assert.equal((await sh(vm.activity, `exit ${code}`)).code, code, `exit ${code}`);
  }
});

test('a process killed by a signal is reported as 128+N with the signal, not as exit 0', async () => {
  const r = await sh(vm.activity, 'kill -KILL $$');
  assert.equal(r.signal, 9);
  assert.equal(r.code, 137);
  const t = await sh(vm.activity, 'kill -TERM $$');
  assert.equal(t.signal, 15);
  assert.equal(t.code, 143);
});

test('environment is the image Env plus PATH, HOSTNAME and HOME', async () => {
  const env = (await run(vm.activity, ['env'])).stdout.toString().split('\n');
  assert.ok(env.includes('TEST_IMAGE=1'), env.join(','));
  assert.ok(env.includes('PATH=/usr/local/bin:/usr/bin:/bin'), env.join(','));
  assert.ok(env.includes(`HOSTNAME=${vm.deployment.hostname}`));
  assert.ok(env.includes('HOME=/root'));
  assert.equal((await run(vm.activity, ['hostname'])).stdout.toString().trim(), vm.deployment.hostname);
});

test('cwd is the image WorkingDir, or the requested one', async () => {
  assert.equal((await run(vm.activity, ['pwd'])).stdout.toString(), '/golem/work\n');
  assert.equal((await run(vm.activity, ['pwd'], { workDir: '/tmp' })).stdout.toString(), '/tmp\n');
});

test('a bare name is looked up in PATH; a missing binary is a not-found error', async () => {
  assert.equal((await run(vm.activity, ['true'])).code, 0);
  await assert.rejects(run(vm.activity, ['no-such-binary']), (err: Error & { reply?: string }) => {
    assert.equal(err.reply, 'not-found');
    assert.match(err.message, /no-such-binary: not found/);
    return true;
  });
  await assert.rejects(run(vm.activity, ['/bin/true'], { workDir: '/nonexistent' }), /nonexistent/);
});

test('argv is passed exactly, including argv[0], spaces and empty strings', async () => {
  const r = await run(vm.activity, [
    '/bin/sh',
    '-c',
    'for a in "$0" "$@"; do echo "[$a]"; done',
    'zero',
    'a b',
    '',
    '*',
  ]);
  assert.equal(r.stdout.toString(), '[zero]\n[a b]\n[]\n[*]\n');
});

test('files written by one command are seen by the next (state persists)', async () => {
  await sh(vm.activity, 'echo persisted > /root/state.txt');
  assert.equal((await run(vm.activity, ['cat', '/root/state.txt'])).stdout.toString(), 'persisted\n');
});

test('the loopback interface is up with 127.0.0.1, and a server on localhost answers', async () => {
  const addr = await sh(vm.activity, 'ip -4 addr show dev lo');
  assert.match(addr.stdout.toString(), /inet 127\.0\.0\.1\/8/, addr.stdout.toString() + addr.stderr.toString());
  const r = await sh(
    vm.activity,
    'nc -l -p 8099 -e echo hello-from-lo & for i in $(seq 100); do nc 127.0.0.1 8099 < /dev/null && break; sleep 0.1; done',
  );
  assert.equal(r.stdout.toString(), 'hello-from-lo\n', r.stderr.toString());
});

test('/proc, /dev, /tmp, /etc/hosts are set up in the image root', async () => {
  const r = await sh(
    vm.activity,
    'test -r /proc/self/stat && test -c /dev/null && test -d /dev/pts && test -w /tmp && grep -q localhost /etc/hosts && test -f /etc/test-image && echo ok',
  );
  assert.equal(r.stdout.toString(), 'ok\n', r.stderr.toString());
});

test('64 MiB on stdout arrives complete (byte count and sha256)', async () => {
  const r = await sh(
    vm.activity,
    'head -c 67108864 /dev/urandom > /tmp/big && sha256sum /tmp/big >&2 && cat /tmp/big && rm /tmp/big',
  );
  assert.equal(r.code, 0, r.stderr.toString());
  assert.equal(r.stdout.length, 64 * 1024 * 1024);
  assert.equal(createHash('sha256').update(r.stdout).digest('hex'), r.stderr.toString().split(' ')[0]);
});

test('the last line printed right before exit is never lost (50 runs)', async () => {
  for (let i = 0; i < 50; i++) {
    const r = await sh(vm.activity, `seq 1 200; printf 'last-line-${i}'`);
    assert.ok(r.stdout.toString().endsWith(`200\nlast-line-${i}`), `run ${i}: ${r.stdout.toString().slice(-40)}`);
  }
});

test('two processes at once keep their streams apart', async () => {
  const script = (tag: string): string =>
    `i=0; while [ $i -lt 2000 ]; do echo ${tag}$i; echo ${tag}err$i >&2; i=$((i+1)); done`;
  const [a, b] = await Promise.all([sh(vm.activity, script('A')), sh(vm.activity, script('B'))]);
  const expect = (tag: string, err = ''): string =>
    Array.from({ length: 2000 }, (_, i) => `${tag}${err}${i}\n`).join('');
  assert.equal(a.stdout.toString(), expect('A'));
  assert.equal(b.stdout.toString(), expect('B'));
  assert.equal(a.stderr.toString(), expect('A', 'err'));
  assert.equal(b.stderr.toString(), expect('B', 'err'));
});

test('kill(pid, SIGTERM) is delivered as SIGTERM', async () => {
  const out: Buffer[] = [];
  const proc = await vm.activity.exec(
    {
      bin: '/bin/sh',
      argv: ['/bin/sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while true; do sleep 0.1; done'],
    },
    { stdout: async (c) => void out.push(Buffer.from(c)), stderr: async () => {} },
  );
  while (!Buffer.concat(out).toString().includes('ready')) await new Promise((r) => setTimeout(r, 50));
  await vm.activity.kill(proc.pid, 15);
  const s = await proc.exit;
  assert.equal(s.code, 42);
  assert.match(Buffer.concat(out).toString(), /got-term/);
  await assert.rejects(vm.activity.kill(proc.pid, 15), /no running process/);
});

test('stdin is delivered and closed', async () => {
  const out: Buffer[] = [];
  const proc = await vm.activity.exec(
    { bin: 'cat', argv: ['cat'], stdin: true },
    { stdout: async (c) => void out.push(Buffer.from(c)), stderr: async () => {} },
  );
  await proc.writeStdin(Buffer.from('line one\n'));
  await proc.writeStdin(Buffer.from('line two\n'));
  await proc.closeStdin();
  assert.equal((await proc.exit).code, 0);
  assert.equal(Buffer.concat(out).toString(), 'line one\nline two\n');
});

test('pids are unique and never reused', async () => {
  const pids = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const p = await vm.activity.exec(
      { bin: 'true', argv: ['true'] },
      { stdout: async () => {}, stderr: async () => {} },
    );
    assert.ok(!pids.has(p.pid));
    pids.add(p.pid);
    await p.exit;
  }
});

test('many commands in a row leak no fds, memory or processes (host and guest)', async () => {
  const fds = (): number => fs.readdirSync('/proc/self/fd').length;
  // User processes (not kernel threads) other than this measuring shell and its children, and init's fds: as
  // counts, then as lists for the failure message. ps writes to a file first, so no pipeline member that is still
  // being forked can be counted or missed (a `ps | grep -c` once counted one process too few).
  const guestState = async (): Promise<{ counts: string; detail: string }> => {
    const script =
      'ps -o pid,ppid,args > /tmp/.ps; ' +
      "others() { grep -v ' \\[' /tmp/.ps | awk -v me=$$ 'NR > 1 && $1 != me && $2 != me'; }; " +
      'others | wc -l; ls /proc/1/fd | wc -l; echo ==; others; ls -l /proc/1/fd';
    const [counts, detail] = (await sh(vm.activity, script)).stdout.toString().split('==\n');
    return { counts: counts ?? '', detail: detail ?? '' };
  };
  for (let i = 0; i < 20; i++) await run(vm.activity, ['true']);
  const hostBefore = fds();
  const guestBefore = await guestState();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < 300; i++) assert.equal((await run(vm.activity, ['true'])).code, 0);
  assert.ok(fds() <= hostBefore + 2, `host fds ${hostBefore} -> ${fds()}`);
  const guestAfter = await guestState();
  assert.equal(
    guestAfter.counts,
    guestBefore.counts,
    `guest process count and init fds changed.\nbefore:\n${guestBefore.detail}\nafter:\n${guestAfter.detail}`,
  );
  global.gc?.();
  assert.ok(
    process.memoryUsage().heapUsed < heapBefore + 32 * 1024 * 1024,
    'heap did not grow by 32 MiB over 300 commands',
  );
});

test('processes run as the image User', async () => {
  const userVm = await bootTestVm({ image: testImage('user') });
  try {
    const r = await run(userVm.activity, ['id']);
    assert.match(r.stdout.toString(), /uid=1000\(golem\) gid=1000\(golem\)/);
    assert.ok((await run(userVm.activity, ['env'])).stdout.toString().includes('HOME=/home/golem'));
  } finally {
    await userVm.dispose();
  }
});
