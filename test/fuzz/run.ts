/**
 * `npm run fuzz -- --seconds N`: every fuzz target for N seconds (default 30) against the real decoders, then each
 * target's planted-bug proof (--proof-seconds, default 60) against its mutant; writes fuzz/results/<date>.json and
 * regenerates docs/reliability.md (report.ts). Exit 1 when a target crashed (its input is kept as a regression file)
 * or a proof found nothing within its bound.
 *
 *   node dist/test/fuzz/run.js [--seconds N] [--proof-seconds P] [--only id,id] [--no-c] [--no-report]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { clangAvailable, fuzzC, fuzzTs, proveTs, type TargetResult } from './lib/engine.js';
import { REPO } from './lib/seeds.js';
import { writeReport, type FuzzResults } from './report.js';
import { TARGETS } from './targets.js';
import { SERVICE_TARGETS } from './service-target.js';

export const RESULTS_DIR = path.join(REPO, 'fuzz/results');

function parseArgs(argv: string[]) {
  const a = { seconds: 30, proofSeconds: 60, only: undefined as string[] | undefined, c: true, report: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${arg} needs a positive number`);
      return v;
    };
    if (arg === '--seconds') a.seconds = num();
    else if (arg === '--proof-seconds') a.proofSeconds = num();
    else if (arg === '--only') a.only = (argv[++i] ?? '').split(',');
    else if (arg === '--no-c') a.c = false;
    else if (arg === '--no-report') a.report = false;
    else throw new Error(`fuzz: unknown argument ${arg}`);
  }
  return a;
}

const say = (s: string): void => void process.stderr.write(`fuzz: ${s}\n`);

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const results: TargetResult[] = [];
  const skipped: { id: string; why: string }[] = [];
  const wanted = (id: string): boolean => args.only === undefined || args.only.includes(id);
  if (args.c && wanted('guest-frames-c')) {
    if (clangAvailable()) {
      say(`guest-frames-c: libFuzzer ${args.seconds} s, then the planted bug`);
      results.push(fuzzC({ seconds: args.seconds, proofSeconds: args.proofSeconds }));
    } else skipped.push({ id: 'guest-frames-c', why: 'clang is not installed (scripts/setup installs it)' });
  }
  for (const t of [...TARGETS, ...SERVICE_TARGETS]) {
    if (!wanted(t.id)) continue;
    say(`${t.id}: fast-check ${args.seconds} s, then the planted bug`);
    const run = await fuzzTs(t, { seconds: args.seconds });
    if (run.failure) say(`${t.id}: FAILED: ${run.failure} (kept: ${run.crashFile ?? 'no input'})`);
    const proof = await proveTs(t, { seconds: args.proofSeconds });
    results.push({
      id: t.id,
      engine: 'fast-check',
      decoder: t.decoder,
      execs: run.execs,
      seconds: run.seconds,
      execsPerSecond: run.execs / run.seconds,
      seeds: t.seeds(),
      corpus: t.seeds(),
      crashes: run.failure ? 1 : 0,
      crashFiles: run.crashFile ? [path.relative(REPO, run.crashFile)] : [],
      proof,
    });
  }
  for (const r of results) {
    say(
      `${r.id}: ${r.execs} execs, ${r.execsPerSecond.toFixed(0)}/s, corpus ${r.corpus}, crashes ${r.crashes}; ` +
        `planted bug ${r.proof.found ? `found after ${r.proof.execs} execs, ${r.proof.seconds.toFixed(2)} s` : 'NOT found'}`,
    );
  }
  const out: FuzzResults = {
    date: new Date(started).toISOString(),
    durationS: Math.round((Date.now() - started) / 100) / 10,
    secondsPerTarget: args.seconds,
    proofSeconds: args.proofSeconds,
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      node: process.version,
      clang: spawnSync('clang', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? 'none',
      commit: spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() ?? '',
    },
    targets: results,
    skipped,
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${out.date.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  say(`results: ${path.relative(process.cwd(), file)}`);
  // A whole run is the page's source: latest.json is kept in git beside docs/reliability.md.
  if (args.report && args.only === undefined) {
    fs.copyFileSync(file, path.join(RESULTS_DIR, 'latest.json'));
    say(`report: ${path.relative(process.cwd(), writeReport(out))}`);
  }
  const bad = results.filter((r) => r.crashes > 0 || !r.proof.found);
  return bad.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
