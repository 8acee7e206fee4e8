/**
 * A checkout stands alone: no tracked file reads from, or sends readers to, a folder beside the repository
 * (issue 10: unit tests opened vectors from a sibling folder that only CI laid out), and every docs/ page and
 * section the sources cite exists. Walks the sources and documentation from REPO_ROOT; build outputs are skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/paths.js';

/** What is searched, relative to the repository root. */
const SEARCHED = [
  'src',
  'test',
  'scripts',
  'bench',
  'init',
  'docs',
  'bin',
  '.ci',
  'README.md',
  'package.json',
  'runtime-descriptor.json',
];
/** Build outputs and caches under the searched folders (all git-ignored). */
const SKIPPED = new Set(['init/build', 'bench/results', 'bench/kvm-kit']);
// Built from pieces so that this file does not match itself.
const NEEDLES = ['..' + '/shared', 'shared' + '/spec', 'shared' + '/vectors'];
/** The same, spelled as path segments: a quoted `..` then the folder's quoted name, as the test helpers once did. */
const SEGMENTS = new RegExp(`['"]\\.\\.['"],\\s*['"]${'sha' + 'red'}['"]`);

interface TextFile {
  rel: string;
  lines: string[];
}

function walk(rel: string, out: string[]): void {
  if (SKIPPED.has(rel) || path.basename(rel) === 'node_modules') return;
  const abs = path.join(REPO_ROOT, rel);
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!st || st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(abs).sort()) walk(path.posix.join(rel, name), out);
  } else if (st.isFile()) {
    out.push(rel);
  }
}

function textFiles(): TextFile[] {
  const rels: string[] = [];
  for (const r of SEARCHED) walk(r, rels);
  return rels.flatMap((rel) => {
    const bytes = fs.readFileSync(path.join(REPO_ROOT, rel));
    if (bytes.includes(0)) return []; // binary data (an image vector)
    return [{ rel, lines: bytes.toString('utf8').split('\n') }];
  });
}

const files = textFiles();

test('the walk sees the sources, the tests and the docs', () => {
  const seen = new Set(files.map((f) => f.rel));
  for (const f of ['src/cli/main.ts', 'test/helpers/paths.ts', 'docs/errors.md', 'README.md'])
    assert.ok(seen.has(f), f);
});

test('no file points outside the checkout', () => {
  const hits: string[] = [];
  for (const f of files) {
    f.lines.forEach((line, i) => {
      for (const needle of NEEDLES)
        if (line.includes(needle)) hits.push(`${f.rel}:${i + 1}: ${needle}: ${line.trim()}`);
      if (SEGMENTS.test(line)) hits.push(`${f.rel}:${i + 1}: a path to a folder beside the checkout: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, [], `files referring to a folder beside the repository:\n${hits.join('\n')}`);
});

/** Section numbers of a docs page: `## 3. Title` gives "3", `### 3.4 Title` gives "3.4". */
function sections(doc: string): Set<string> {
  const out = new Set<string>();
  for (const m of doc.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)) out.add(m[1]!);
  return out;
}

test('every docs/ page and section cited exists', () => {
  const bad: string[] = [];
  let checked = 0;
  const cite = /docs\/([\w.-]+\.md)(?:,? sections? (\d+(?:\.\d+)*(?:(?:, | and | or |-)\d+(?:\.\d+)*)*))?/g;
  for (const f of files) {
    f.lines.forEach((line, i) => {
      for (const m of line.matchAll(cite)) {
        const page = path.join(REPO_ROOT, 'docs', m[1]!);
        if (!fs.existsSync(page)) {
          bad.push(`${f.rel}:${i + 1}: docs/${m[1]} does not exist`);
          continue;
        }
        checked++;
        if (!m[2]) continue;
        const have = sections(fs.readFileSync(page, 'utf8'));
        for (const n of m[2].split(/, | and | or |-/)) {
          if (!have.has(n)) bad.push(`${f.rel}:${i + 1}: docs/${m[1]} has no section ${n}`);
        }
      }
    });
  }
  assert.deepEqual(bad, [], bad.join('\n'));
  assert.ok(checked > 20, `only ${checked} citations of docs/ found: is the pattern still right?`);
});
