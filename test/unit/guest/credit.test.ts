// CreditLedger and OutputPump: grants only for delivered bytes, coalesced, never starving, never over the window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreditLedger, OutputPump } from '../../../src/guest/credit.js';
import { GuestOutputError, GuestProtocolError } from '../../../src/guest/errors.js';
import { INITIAL_CREDIT } from '../../../src/guest/frames.js';

test('grants are coalesced until 64 KiB are owed or the queue is idle', () => {
  const grants: number[] = [];
  const l = new CreditLedger(7, (n) => grants.push(n));
  l.onReceived(100_000);
  l.onDelivered(30_000, false);
  assert.deepEqual(grants, []);
  l.onDelivered(40_000, false);
  assert.deepEqual(grants, [70_000]);
  l.onDelivered(30_000, true);
  assert.deepEqual(grants, [70_000, 30_000]);
  assert.equal(l.window, INITIAL_CREDIT);
});

test('a guest sending beyond its window breaks the channel', () => {
  const l = new CreditLedger(7, () => {});
  l.onReceived(INITIAL_CREDIT - 10);
  assert.throws(
    () => l.onReceived(11),
    (err: unknown) =>
      err instanceof GuestProtocolError &&
      err.message === 'OUTPUT of 11 bytes for process 7 exceeds its remaining credit of 10 bytes',
  );
});

test('no grants after stop()', () => {
  const grants: number[] = [];
  const l = new CreditLedger(7, (n) => grants.push(n));
  l.onReceived(10);
  l.stop();
  l.onDelivered(10, true);
  assert.deepEqual(grants, []);
});

test('a window exhausted by tiny chunks is granted back once they are delivered (no starvation)', async () => {
  const grants: number[] = [];
  let delivered = 0;
  const pump = new OutputPump(1, { stdout: async (c) => void (delivered += c.length), stderr: async () => {} }, (n) =>
    grants.push(n),
  );
  for (let i = 0; i < INITIAL_CREDIT / 64; i++) pump.push(1, new Uint8Array(64));
  assert.equal(pump.ledger.window, 0);
  await pump.drained();
  assert.equal(delivered, INITIAL_CREDIT);
  assert.equal(
    grants.reduce((a, b) => a + b, 0),
    INITIAL_CREDIT,
  );
  assert.equal(pump.ledger.window, INITIAL_CREDIT);
});

test('sink calls are sequential and in order; credit follows each resolution', async () => {
  const events: string[] = [];
  let active = 0;
  const slow =
    (name: string) =>
    async (c: Uint8Array): Promise<void> => {
      assert.equal(active++, 0, 'sink called while a previous chunk was still being delivered');
      events.push(`${name}:${c.length}`);
      await new Promise((r) => setTimeout(r, 3));
      active--;
    };
  const pump = new OutputPump(1, { stdout: slow('out'), stderr: slow('err') }, (n) => events.push(`credit:${n}`), 1);
  pump.push(1, new Uint8Array(1));
  pump.push(2, new Uint8Array(2));
  pump.push(1, new Uint8Array(3));
  await pump.drained();
  assert.deepEqual(events, ['out:1', 'credit:1', 'err:2', 'credit:2', 'out:3', 'credit:3']);
});

test('a failing sink rejects drained() but keeps granting', async () => {
  const grants: number[] = [];
  const pump = new OutputPump(
    4,
    {
      stdout: async () => {
        throw new Error('EPIPE');
      },
      stderr: async () => {},
    },
    (n) => grants.push(n),
  );
  pump.push(1, new Uint8Array(5));
  pump.push(1, new Uint8Array(6));
  await assert.rejects(
    pump.drained(),
    (err: unknown) =>
      err instanceof GuestOutputError &&
      err.message === 'delivering stdout of process 4 failed' &&
      (err.cause as Error).message === 'EPIPE',
  );
  assert.deepEqual(grants, [11]);
});
