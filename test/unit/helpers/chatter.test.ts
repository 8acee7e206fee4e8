/** The stress tests' output checker must catch what it is there to catch: a lost, repeated or torn line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyChatter, type ChatterSpec } from '../../helpers/chatter.js';

/** What chatter.c writes, one process after the other (any interleaving of processes is valid). */
function expected(s: ChatterSpec): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  for (let p = 0; p < s.procs; p++) {
    for (let seq = 0; seq < s.lines; seq++) {
      const e = s.stderr && Number(((BigInt(seq) * 2654435761n) & 0xffffffffffffffffn) >> 7n) % 3 === 0;
      (e ? err : out).push(`${p} ${e ? 'e' : 'o'} ${seq} ${'.'.repeat((seq * 7) % 61)}\n`);
    }
  }
  return { out, err };
}

const spec: ChatterSpec = { procs: 3, lines: 300, stderr: true };
const buf = (lines: string[]): Buffer => Buffer.from(lines.join(''));

describe('verifyChatter', () => {
  it('accepts the exact output, whatever the order between processes', () => {
    const { out, err } = expected(spec);
    assert.deepEqual(verifyChatter(buf(out), buf(err), spec), []);
    const mixed = [...out].sort((a, b) => Number(a.split(' ')[2]) - Number(b.split(' ')[2]));
    assert.deepEqual(verifyChatter(buf(mixed), buf(err), spec), []);
  });
  it('reports a lost line, a repeated line, a torn end and a missing tail', () => {
    const { out, err } = expected(spec);
    assert.match(verifyChatter(buf(out.filter((_, i) => i !== 10)), buf(err), spec).join(), /expected/);
    assert.match(
      verifyChatter(buf([...out.slice(0, 11), out[10]!, ...out.slice(11)]), buf(err), spec).join(),
      /expected/,
    );
    assert.match(
      verifyChatter(Buffer.concat([buf(out), Buffer.from('0 o 3')]), buf(err), spec).join(),
      /ends inside a line/,
    );
    assert.match(verifyChatter(buf(out), buf(err.slice(0, -5)), spec).join(), /stopped at seq/);
    assert.match(verifyChatter(buf(err), buf(out), spec).join(), /unexpected/);
  });
});
