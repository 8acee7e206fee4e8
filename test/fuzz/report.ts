/**
 * The generator of docs/reliability.md from one fuzz run's results (run.ts). Run on its own,
 * `node dist/test/fuzz/report.js [fuzz/results/X.json]` regenerates the page from the given results file (default:
 * fuzz/results/latest.json, the last whole run, kept in git) without fuzzing anything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TargetResult } from './lib/engine.js';
import { FOUND } from './found.js';
import { REPO } from './lib/seeds.js';

export const REPORT_PATH = path.join(REPO, 'docs/reliability.md');
const RESULTS = path.join(REPO, 'fuzz/results');

export interface FuzzResults {
  date: string;
  durationS: number;
  secondsPerTarget: number;
  proofSeconds: number;
  machine: { cpu: string; cores: number; node: string; clang: string; commit: string };
  targets: TargetResult[];
  skipped: { id: string; why: string }[];
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A failure for a table cell: paths relative to the repository, long ones cut in the middle, pipes escaped. */
function failureCell(text: string | undefined): string {
  if (text === undefined) return '–';
  const rel = text.replace(/\/\S*?\/((?:init|src|test)\/)/g, '$1');
  const short = rel.length > 160 ? `${rel.slice(0, 60)} … ${rel.slice(-90)}` : rel;
  return short.replace(/\|/g, '\\|');
}
const secs = (s: number): string => (s < 10 ? s.toFixed(2) : s.toFixed(1));

/**
 * Hostile requestors and host faults: what `test/vm/containment.test.ts` and `test/vm/host-faults.test.ts` check on
 * every `npm test`, with the figures of one run here (2026-12-02, TCG, 2 shared cores). Kept by hand: these are VM
 * tests, not fuzz targets; update the figures when the behaviour changes.
 */
const HOSTILE = [
  '## Hostile requestors and host faults',
  '',
  'Checked by `test/vm/containment.test.ts` (one activity, 1 vCPU, 0.5 GiB, driven as the ExeUnit drives it: each ' +
    'attack, then an `echo` that must be answered) and `test/vm/host-faults.test.ts`, in every `npm test`. Figures ' +
    'from `node --test dist/test/vm/containment.test.js dist/test/vm/host-faults.test.js` on 2026-12-02 (TCG, 2 ' +
    'shared cores). The limits: docs/operator-guide.md, "Guest limits".',
  '',
  '| fault or attack | outcome | figure |',
  '|---|---|---|',
  '| shell fork bomb in the background (`b() { b \\| b & }; b`) | reaches `pids.max` (1024 for 0.5 GiB) and meets EAGAIN; commands are still answered while it runs; KillProcess of another command returns; `kill -9 -1` ends it | `echo` answered in 81 ms during the bomb (before the limits: no answer within 60 s) |',
  '| memory hog (a shell string doubling) | OOM-killed inside the requestor group (`memory.events` oom_kill ≥ 1); init and the kernel keep the reserve | ended in 11 s (before: not killed within 180 s) |',
  '| root disk and `/tmp` filled with `dd` | `No space left on device`, exit 1, the activity serves on | 4.7 s for both |',
  '| 20 MB output flood | arrives byte-exact | runtime VmHWM 60.6 MiB after it |',
  '| `kill -9 -1`, 64 KiB of random bytes into every `/dev/vport*`, volumes unmounted | the activity serves on; Shutdown returns within 5 s | – |',
  '| host filesystem under the workdir full at deploy | one line (`No space left on device`), non-zero exit, no deployment.json | – |',
  "| host filesystem full while the VM runs | the volume write gets ENOSPC, the root disk write EIO (QEMU `werror=report`; its default paused the whole VM); log lines that cannot be written are dropped and counted (pino's destination threw, which ended the runtime) | 15 s for the test |",
  '| QEMU SIGSTOPped (a hung VM) | KillProcess answers `GUEST_NOT_ANSWERING` after 3 s (it used to wait forever); Shutdown returns within 5 s and ends QEMU | – |',
  '| stdin closed inside a frame | the runtime ends by itself, no QEMU or virtiofsd left | – |',
  '',
  'Not bounded: a host volume is a folder on the provider\'s disk without a quota (docs/operator-guide.md, "Guest ' +
    'limits"): the test above shows what happens when that filesystem fills up.',
  '',
];

export function renderReport(r: FuzzResults): string {
  const rows = r.targets.map((t) => {
    const found = FOUND.filter((f) => f.target === t.id);
    const corpus = t.engine === 'libFuzzer' ? int(t.corpus) : '–';
    return `| \`${t.id}\` | ${t.engine} | ${int(t.execs)} | ${int(t.execsPerSecond)} | ${int(t.seeds)} | ${corpus} | ${t.crashes} | ${found.length} / ${found.filter((f) => f.fixed).length} |`;
  });
  const proofs = r.targets.map(
    (t) =>
      `| \`${t.id}\` | ${t.proof.mutation} | ${t.proof.found ? '**found**' : '**NOT found**'} | ${int(t.proof.execs)} | ${secs(t.proof.seconds)} s (bound ${t.proof.boundSeconds} s) | ${failureCell(t.proof.failure)} |`,
  );
  const decoders = r.targets.map((t) => `| \`${t.id}\` | ${t.decoder} |`);
  const found =
    FOUND.length === 0
      ? ['None so far.']
      : [
          '| target | what | fix | regression |',
          '|---|---|---|---|',
          ...FOUND.map(
            (f) => `| \`${f.target}\` | ${f.what} | ${f.fixed ? f.fix : 'not fixed yet'} | ${f.regression} |`,
          ),
        ];
  return [
    '# Reliability: fuzzing, hostile requestors, host faults',
    '',
    '<!-- Generated by test/fuzz/report.ts from fuzz/results/latest.json (`npm run fuzz`). Do not edit by hand: edit test/fuzz/report.ts. -->',
    '',
    `Latest run: ${r.date}, ${r.durationS} s, ${r.secondsPerTarget} s per target, commit ${r.machine.commit}. ` +
      'Every decoder that reads bytes from the guest or from the ExeUnit is fuzzed: the C decoder of the guest ' +
      'protocol under libFuzzer with ASan and UBSan, the TypeScript decoders with fast-check properties ("only the ' +
      'module\'s typed error is ever thrown", "decode then encode is the identity", the result does not depend on ' +
      "how a stream is cut, and each decoder's own bound), all seeded with the golden vectors of `test/vectors/`.",
    '',
    'Run it: `npm run fuzz -- --seconds N` (every target N seconds, then every proof); ' +
      '`node dist/test/fuzz/run.js --only tar,network --seconds 5` for some targets; ' +
      '`node dist/test/fuzz/report.js` regenerates this page from `fuzz/results/latest.json`. ' +
      '`npm test` runs a bounded slice (`test/fuzz/*.test.ts`: a fixed number of inputs per target, every kept ' +
      'crash, every proof).',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${r.machine.cpu}, ${r.machine.cores} cores |`,
    `| Node | ${r.machine.node} |`,
    `| clang | ${r.machine.clang} |`,
    '',
    '## Targets',
    '',
    'Executions: inputs run in this run. Seeds: the golden inputs the mutations start from. Corpus (libFuzzer ' +
      'only; fast-check keeps none): the inputs libFuzzer kept for new coverage, in `init/build/fuzz-corpus` ' +
      'after the run (it grows across runs on one machine). Crashes: inputs that broke a property in this run ' +
      '(each kept as a regression file). Found / fixed: bugs the fuzzers ever found in our code, below.',
    '',
    '| target | engine | executions | exec/s | seeds | corpus | crashes | found / fixed |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
    ...rows,
    ...r.skipped.map((s) => `| \`${s.id}\` | not run: ${s.why} | | | | | | |`),
    '',
    '`start-stdin` feeds the service a FakeActivity; against a real VM, `test/vm/stdin-fuzz.test.ts` (in the VM ' +
      'tests of `npm test`) sends 24 fuzzed streams of whole frames into one runtime, which must answer a ' +
      'RunProcess exactly after each and shut down cleanly, and 6 framing-breaking streams then EOF into 6 ' +
      'runtimes, which must end by themselves with no QEMU or virtiofsd left.',
    '',
    '| target | decoders |',
    '|---|---|',
    ...decoders,
    '',
    '## Planted bugs: each target can find something',
    '',
    'Each target also runs against a build of its decoder with one check removed: for C, `init/src/proto.c` ' +
      'compiled with `-DPROTO_FUZZ_PLANTED_BUG` (`make -C init fuzz-planted`), fuzzed from the golden frames only ' +
      'with an empty corpus; for TypeScript, a copy of the compiled module with that check rewritten ' +
      '(`test/fuzz/lib/modules.ts`, `mutant` of each target in `test/fuzz/targets.ts`). The target must fail ' +
      'within its bound.',
    '',
    '| target | check removed | result | executions to find | time | failure |',
    '|---|---|---|--:|--:|---|',
    ...proofs,
    '',
    '## Bugs found',
    '',
    ...found,
    '',
    'Kept crashes: `init/fuzz/regressions/` (replayed by `make -C init test`) and `test/fuzz/regressions/` ' +
      '(replayed by `test/fuzz/targets.test.ts` as fast-check examples).',
    '',
    ...HOSTILE,
  ].join('\n');
}

export function writeReport(r: FuzzResults): string {
  fs.writeFileSync(REPORT_PATH, renderReport(r));
  return REPORT_PATH;
}

/** The results the committed page was made from (run.ts copies a whole run's results there). */
export const LATEST = path.join(RESULTS, 'latest.json');

function newest(): string {
  if (fs.existsSync(LATEST)) return LATEST;
  const files = fs.existsSync(RESULTS) ? fs.readdirSync(RESULTS).filter((f) => f.endsWith('.json')) : [];
  if (files.length === 0) throw new Error(`no results in ${RESULTS}: run npm run fuzz first`);
  return path.join(RESULTS, files.sort().at(-1)!);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2] ?? newest();
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as FuzzResults;
  process.stdout.write(`${path.relative(process.cwd(), writeReport(r))}\n`);
}
