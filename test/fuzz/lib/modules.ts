/**
 * Where a fuzz target's decoder comes from: the real build (dist/src) or a mutant of it, a copy of dist/src with
 * one check in one compiled file rewritten (a bounds check removed), made on the spot under dist/.mutants/ so its
 * relative and package imports resolve as the real ones do. A target imports every module it uses, error classes
 * included, through its `Load`, so `instanceof` means the same build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** dist/, where this file runs from (dist/test/fuzz/lib/modules.js). */
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SRC = path.join(DIST, 'src');

/** Imports a module of src/ by its path relative to src/, e.g. `load('guest/frames.js')`. */
export type Load = <T = Record<string, unknown>>(rel: string) => Promise<T>;

export function loaderFor(root: string): Load {
  return async <T>(rel: string): Promise<T> => (await import(pathToFileURL(path.join(root, rel)).href)) as T;
}

export const realBuild: Load = loaderFor(SRC);

/** One check removed: in compiled `file` (relative to src/), the text `from` (which must occur once) becomes `to`. */
export interface Mutation {
  file: string;
  from: string;
  to: string;
  /** What the mutation breaks, for the report. */
  what: string;
}

/** Builds the mutant (once per name) and returns its loader. */
export function mutantBuild(name: string, m: Mutation): Load {
  const root = path.join(DIST, '.mutants', name);
  const src = path.join(root, 'src');
  fs.rmSync(root, { recursive: true, force: true });
  fs.cpSync(SRC, src, { recursive: true });
  const file = path.join(src, m.file);
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf(m.from);
  if (at < 0 || text.indexOf(m.from, at + 1) >= 0) {
    throw new Error(`mutant ${name}: ${JSON.stringify(m.from)} must occur exactly once in ${m.file}`);
  }
  fs.writeFileSync(file, text.slice(0, at) + m.to + text.slice(at + m.from.length));
  return loaderFor(src);
}
