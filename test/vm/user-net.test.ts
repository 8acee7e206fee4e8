/**
 * `--net user` (docs/networking.md, "Operator networking"): an operator's VM gets QEMU's user-mode network and
 * reaches a server on the host's loopback as 10.0.2.2. Only servers on this machine are contacted.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { testImage } from '../helpers/vm.js';

test('run --net user: the guest is 10.0.2.15 and fetches from a server on the host loopback', async () => {
  const body = `hello from the host ${process.pid}\n`;
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/hello' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/hello' ? body : 'no\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const script =
      'd=$(grep -l 90:13:0a:00:02:0f /sys/class/net/*/address | cut -d/ -f5); ip -4 addr show dev $d; ip route; ' +
      `cat /etc/resolv.conf; echo ---; wget -q -O - http://10.0.2.2:${port}/hello`;
    const r = await runCli(['--task-package', testImage(), '--net', 'user', 'run', '--', '/bin/sh', '-c', script], {
      timeoutMs: 180_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const [config, fetched] = r.stdout.split('---\n');
    assert.match(config!, /inet 10\.0\.2\.15\/24/);
    assert.match(config!, /default via 10\.0\.2\.2/);
    assert.match(config!, /^nameserver 10\.0\.2\.3$/m);
    assert.equal(fetched, body);
  } finally {
    server.close();
  }
});
