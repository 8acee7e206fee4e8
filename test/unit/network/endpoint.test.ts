import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpoint } from '../../../src/network/endpoint.js';
import { NetworkError } from '../../../src/network/errors.js';

test('udp:// and tcp-connect:// endpoints parse to transport, host and port', () => {
  assert.deepEqual(parseEndpoint('vpn', 'udp://127.0.0.1:40123'), { transport: 'udp', host: '127.0.0.1', port: 40123 });
  assert.deepEqual(parseEndpoint('inet', 'udp://127.0.0.1:1/'), { transport: 'udp', host: '127.0.0.1', port: 1 });
  assert.deepEqual(parseEndpoint('vpn', 'tcp-connect://127.0.0.2:65535'), {
    transport: 'tcp',
    host: '127.0.0.2',
    port: 65535,
  });
});

test('unix:// and tcp-listen:// are refused as unsupported, naming the option', () => {
  for (const v of ['unix:///tmp/vpn.sock', 'tcp-listen://127.0.0.1:0']) {
    assert.throws(
      () => parseEndpoint('vpn', v),
      (err: unknown) =>
        err instanceof NetworkError &&
        err.code === 'ENDPOINT_UNSUPPORTED' &&
        err.message.startsWith(`--vpn-endpoint ${JSON.stringify(v)}: `) &&
        /not supported \(use udp:\/\/IP:PORT/.test(err.message),
    );
  }
});

test('malformed endpoints are ENDPOINT_INVALID with the reason', () => {
  const cases: [string, RegExp][] = [
    ['127.0.0.1:4000', /expected udp:\/\/IP:PORT/],
    ['http://127.0.0.1:4000', /unknown scheme http:\/\//],
    ['udp://localhost:4000', /expected IPv4:PORT/],
    ['udp://127.0.0.1', /expected IPv4:PORT/],
    ['udp://127.0.0.1:4000/x', /expected IPv4:PORT/],
    ['udp://127.0.0.256:4000', /127\.0\.0\.256 is not an IPv4 address/],
    ['udp://127.0.0.1:0', /port 0 is not in 1\.\.65535/],
    ['udp://127.0.0.1:70000', /port 70000 is not in 1\.\.65535/],
    ['udp://[::1]:4000', /expected IPv4:PORT/],
    ['udp://10.0.0.1:4000', /10\.0\.0\.1 is not a loopback address/],
  ];
  for (const [v, why] of cases) {
    assert.throws(
      () => parseEndpoint('inet', v),
      (err: unknown) =>
        err instanceof NetworkError &&
        err.code === 'ENDPOINT_INVALID' &&
        err.message.startsWith('--inet-endpoint ') &&
        why.test(err.message),
      v,
    );
  }
});
