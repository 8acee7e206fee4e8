/**
 * docs/reliability.md is what test/fuzz/report.ts makes of fuzz/results/latest.json (the last whole `npm run fuzz`),
 * never a hand edit: regenerating it must give the committed bytes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../helpers/paths.js';
import { renderReport, type FuzzResults } from '../../fuzz/report.js';

test('docs/reliability.md is generated from fuzz/results/latest.json', () => {
  const results = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'fuzz/results/latest.json'), 'utf8')) as FuzzResults;
  const page = fs.readFileSync(path.join(REPO_ROOT, 'docs/reliability.md'), 'utf8');
  assert.equal(page, renderReport(results), 'run `node dist/test/fuzz/report.js` after editing report.ts');
  assert.ok(results.targets.length >= 11, 'every target is in the run');
  for (const t of results.targets) {
    assert.ok(t.execs > 0, `${t.id} ran`);
    assert.ok(t.proof.found, `${t.id} found its planted bug`);
  }
});
