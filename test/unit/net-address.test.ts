import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatIpv4,
  formatMac,
  hasHostBits,
  ipv4Bytes,
  ipv4FromBytes,
  maskPrefix,
  parseIpv4,
  parseMac,
  prefixMask,
} from '../../src/net-address.js';

test('parseIpv4 takes exact dotted quads only', () => {
  assert.equal(parseIpv4('0.0.0.0'), 0);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('192.168.8.2'), 0xc0a80802);
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3.-4',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1..3.4',
    'a.b.c.d',
    '1.2.3.4\n',
  ])
    assert.equal(parseIpv4(bad), undefined, JSON.stringify(bad));
});

test('format and bytes round-trip in network order', () => {
  const v = parseIpv4('10.42.42.2')!;
  assert.equal(formatIpv4(v), '10.42.42.2');
  assert.deepEqual([...ipv4Bytes(v)], [10, 42, 42, 2]);
  assert.equal(ipv4FromBytes(Uint8Array.of(255, 0, 0, 1)), 0xff000001);
});

test('masks and prefixes', () => {
  assert.equal(prefixMask(0), 0);
  assert.equal(prefixMask(24), 0xffffff00);
  assert.equal(prefixMask(32), 0xffffffff);
  assert.equal(maskPrefix(parseIpv4('255.255.0.0')!), 16);
  assert.equal(maskPrefix(parseIpv4('255.0.255.0')!), undefined);
  assert.equal(maskPrefix(parseIpv4('0.255.255.255')!), undefined);
  assert.equal(hasHostBits(parseIpv4('192.168.8.0')!, 24), false);
  assert.equal(hasHostBits(parseIpv4('192.168.8.1')!, 24), true);
  assert.equal(hasHostBits(parseIpv4('1.2.3.4')!, 0), true);
});

test('MACs', () => {
  assert.deepEqual([...parseMac('90:13:C0:a8:08:02')!], [0x90, 0x13, 0xc0, 0xa8, 0x08, 0x02]);
  assert.equal(formatMac(Uint8Array.of(0x90, 0x13, 0, 0, 0, 1)), '90:13:00:00:00:01');
  for (const bad of ['90:13:00:00:00', '90-13-00-00-00-01', '90:13:00:00:00:001', 'zz:13:00:00:00:01'])
    assert.equal(parseMac(bad), undefined, bad);
});
