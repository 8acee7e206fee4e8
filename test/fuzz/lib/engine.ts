/**
 * Runs fuzz targets for a time or a number of inputs and reports what the report needs: executions, executions per
 * second, corpus, crashes (kept as regression files), and the planted-bug proof. fast-check for the TypeScript
 * targets (targets.ts), libFuzzer for the C decoder (init/fuzz/).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { AnyProperty, FuzzTarget } from '../targets.js';
import { mutantBuild, realBuild } from './modules.js';
import { REPO } from './seeds.js';

export interface ProofResult {
  mutation: string;
  found: boolean;
  /** Inputs run until the failure (all of them when none was found). */
  execs: number;
  seconds: number;
  boundSeconds: number;
  /** The failure, one line. */
  failure?: string;
}

export interface TargetResult {
  id: string;
  engine: 'fast-check' | 'libFuzzer';
  decoder: string;
  execs: number;
  seconds: number;
  execsPerSecond: number;
  /** Seed inputs, and (libFuzzer) the corpus after the run. */
  seeds: number;
  corpus: number;
  crashes: number;
  /** Regression files written for the crashes (relative to the repository). */
  crashFiles: string[];
  proof: ProofResult;
}

/** Regression inputs of the TypeScript targets: one JSON file per crash, byte arrays as {"$bytes": hex}. */
export const TS_REGRESSIONS = path.join(REPO, 'test/fuzz/regressions');
export const C_REGRESSIONS = path.join(REPO, 'init/fuzz/regressions');

function toJson(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x: unknown) => (x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('hex') } : x),
    1,
  );
}

function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && '$bytes' in x ? Uint8Array.from(Buffer.from(String(x.$bytes), 'hex')) : x,
  );
}

/** The kept crashes of a target, as fast-check examples. */
export function regressionsOf(id: string): unknown[][] {
  if (!fs.existsSync(TS_REGRESSIONS)) return [];
  return fs
    .readdirSync(TS_REGRESSIONS)
    .filter((f) => f.startsWith(`${id}-`) && f.endsWith('.json'))
    .sort()
    .map((f) => fromJson(fs.readFileSync(path.join(TS_REGRESSIONS, f), 'utf8')) as unknown[]);
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim() !== '') ?? text;
}

async function check(prop: AnyProperty, params: fc.Parameters<unknown>): Promise<fc.RunDetails<unknown>> {
  return (await fc.check(prop, params)) as fc.RunDetails<unknown>;
}

/** Runs a target against the real build for `seconds` (or `runs` inputs); a failure is kept as a regression file. */
export async function fuzzTs(
  t: FuzzTarget,
  opts: { seconds?: number; runs?: number; seed?: number; keep?: boolean },
): Promise<{ execs: number; seconds: number; failure?: string; crashFile?: string }> {
  const prop = await t.property(realBuild);
  const start = performance.now();
  const d = await check(prop, {
    numRuns: opts.runs ?? Number.MAX_SAFE_INTEGER,
    ...(opts.seconds !== undefined ? { interruptAfterTimeLimit: opts.seconds * 1000 } : {}),
    markInterruptAsFailure: false,
    examples: regressionsOf(t.id) as never,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  const seconds = (performance.now() - start) / 1000;
  if (!d.failed) return { execs: d.numRuns, seconds };
  let crashFile: string | undefined;
  if (opts.keep !== false && d.counterexample) {
    fs.mkdirSync(TS_REGRESSIONS, { recursive: true });
    crashFile = path.join(TS_REGRESSIONS, `${t.id}-${d.seed}.json`);
    fs.writeFileSync(crashFile, `${toJson(d.counterexample)}\n`);
  }
  return {
    execs: d.numRuns,
    seconds,
    failure: oneLine(d.errorInstance ?? 'failed'),
    ...(crashFile ? { crashFile } : {}),
  };
}

/** The planted-bug proof: the target's property against its mutant must fail within `seconds`. */
export async function proveTs(t: FuzzTarget, opts: { seconds: number; seed?: number }): Promise<ProofResult> {
  const prop = await t.property(mutantBuild(t.id, t.mutant), { proof: true });
  const start = performance.now();
  const d = await check(prop, {
    numRuns: Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: opts.seconds * 1000,
    markInterruptAsFailure: false,
    endOnFailure: true,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  return {
    mutation: t.mutant.what,
    found: d.failed,
    execs: d.numRuns,
    seconds: (performance.now() - start) / 1000,
    boundSeconds: opts.seconds,
    ...(d.failed ? { failure: oneLine(d.errorInstance ?? 'failed') } : {}),
  };
}

// ---- libFuzzer ------------------------------------------------------------------------------------------------

const INIT = path.join(REPO, 'init');
const BUILD = path.join(INIT, 'build');

export function clangAvailable(): boolean {
  return spawnSync('clang', ['--version'], { stdio: 'ignore' }).status === 0;
}

function make(...targets: string[]): void {
  const r = spawnSync('make', ['-s', '-C', INIT, ...targets], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make -C init ${targets.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

function stat(out: string, name: string): number {
  const m = new RegExp(`stat::${name}:\\s*(\\d+)`).exec(out);
  return m ? Number(m[1]) : 0;
}

function files(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => !f.startsWith('.')) : [];
}

interface LibFuzzerRun {
  execs: number;
  seconds: number;
  crashed: boolean;
  artifacts: string[];
  output: string;
}

function libFuzzer(bin: string, corpus: string, seeds: string[], seconds: number, artifacts: string): LibFuzzerRun {
  fs.rmSync(artifacts, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });
  fs.mkdirSync(corpus, { recursive: true });
  const start = performance.now();
  const r = spawnSync(
    bin,
    [
      `-max_total_time=${seconds}`,
      '-print_final_stats=1',
      '-rss_limit_mb=2048',
      `-artifact_prefix=${artifacts}/`,
      corpus,
      ...seeds,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: (seconds + 60) * 1000 },
  );
  const output = `${r.stdout}${r.stderr}`;
  return {
    execs: stat(output, 'number_of_executed_units'),
    seconds: (performance.now() - start) / 1000,
    crashed: r.status !== 0,
    artifacts: files(artifacts).map((f) => path.join(artifacts, f)),
    output,
  };
}

/** The C decoder: `seconds` of libFuzzer on the real build (growing init/build/fuzz-corpus), then the proof. */
export function fuzzC(opts: { seconds: number; proofSeconds: number }): TargetResult {
  make('fuzz', 'fuzz-planted');
  const seeds = [path.join(BUILD, 'fuzz-seeds/frames'), path.join(BUILD, 'fuzz-seeds/malformed')];
  const nSeeds = seeds.reduce((n, d) => n + files(d).length, 0);
  const corpus = path.join(BUILD, 'fuzz-corpus');
  const run = libFuzzer(
    path.join(BUILD, 'proto-fuzz'),
    corpus,
    seeds,
    opts.seconds,
    path.join(BUILD, 'fuzz-artifacts'),
  );
  const crashFiles: string[] = [];
  for (const a of run.artifacts) {
    fs.mkdirSync(C_REGRESSIONS, { recursive: true });
    const dest = path.join(C_REGRESSIONS, path.basename(a));
    fs.copyFileSync(a, dest);
    crashFiles.push(path.relative(REPO, dest));
  }
  if (run.crashed && run.artifacts.length === 0)
    throw new Error(`proto-fuzz failed without a crash file:\n${run.output}`);
  // The proof starts from the golden (valid) frames only, with an empty corpus: the malformed vectors would hand it
  // the overread for free.
  const planted = libFuzzer(
    path.join(BUILD, 'proto-fuzz-planted'),
    path.join(BUILD, 'fuzz-corpus-planted'),
    [seeds[0]!],
    opts.proofSeconds,
    path.join(BUILD, 'fuzz-artifacts-planted'),
  );
  fs.rmSync(path.join(BUILD, 'fuzz-corpus-planted'), { recursive: true, force: true });
  const summary = /SUMMARY: (.*)/.exec(planted.output)?.[1];
  return {
    id: 'guest-frames-c',
    engine: 'libFuzzer',
    decoder: 'init/src/proto.c, init/src/proto_encode.c',
    execs: run.execs,
    seconds: run.seconds,
    execsPerSecond: run.execs / run.seconds,
    seeds: nSeeds,
    corpus: files(corpus).length,
    crashes: run.artifacts.length,
    crashFiles,
    proof: {
      mutation: "take()'s check that a field fits in the payload (-DPROTO_FUZZ_PLANTED_BUG)",
      found: planted.crashed && planted.artifacts.length > 0,
      execs: planted.execs,
      seconds: planted.seconds,
      boundSeconds: opts.proofSeconds,
      ...(summary ? { failure: summary } : {}),
    },
  };
}
