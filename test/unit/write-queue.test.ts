import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { drainOf, OneSlotQueue } from '../../src/write-queue.js';

test('OneSlotQueue runs one task at a time, in order; a rejection stays with its task', async () => {
  const q = new OneSlotQueue();
  const log: string[] = [];
  let active = 0;
  const task =
    (name: string, fail = false) =>
    async (): Promise<string> => {
      assert.equal(active++, 0, 'two tasks at once');
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
  const a = q.run(task('a'));
  const b = q.run(task('b', true));
  const c = q.run(task('c'));
  assert.equal(await a, 'a');
  await assert.rejects(b, /^Error: b$/);
  assert.equal(await c, 'c');
  await q.idle();
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('drainOf: true on drain, false when the stream closes first', async () => {
  const s = new PassThrough({ highWaterMark: 1 });
  assert.equal(s.write('xx'), false);
  const drained = drainOf(s);
  s.resume();
  assert.equal(await drained, true);

  const w = new Writable({ highWaterMark: 1, write: () => {} });
  assert.equal(w.write('xx'), false);
  const gone = drainOf(w);
  w.destroy();
  assert.equal(await gone, false);
});
