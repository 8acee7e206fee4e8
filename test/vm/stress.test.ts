/**
 * Output under load (issue 9): small writes through stdio, stdout and stderr interleaved, several processes at
 * once, big writes through a shell pipe, 1 vCPU and 0.5 GiB, in one VM. Every run's output must arrive exact and
 * the guest console must stay free of oopses (init's splice of a process pipe into the port once crashed the
 * guest kernel in PID 1 now and then: docs/guest-protocol.md, "Output path in the guest").
 *
 * `npm test` does YA_STRESS_RUNS runs (default 36, about a minute under TCG); `npm run stress` does hundreds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import { bootTestVm, GUEST_CRASH_LINE, run, sh, type RunResult, type TestVm } from '../helpers/vm.js';
import { chatterArgv, verifyChatter, type ChatterSpec } from '../helpers/chatter.js';

const RUNS = Number(process.env['YA_STRESS_RUNS'] ?? 36);

interface Pattern {
  name: string;
  /** Runs the pattern; returns the problems found in its output (empty when exact). */
  go(vm: TestVm): Promise<string[]>;
}

const exitProblems = (r: RunResult): string[] =>
  r.code === 0 ? [] : [`exit code ${r.code}: ${r.stderr.toString().slice(0, 200)}`];

const chatter = (spec: ChatterSpec, viaCat = false): Pattern => ({
  name: `chatter -p ${spec.procs} -n ${spec.lines}${spec.stderr ? ' -e' : ''}${viaCat ? ' | cat' : ''}`,
  async go(vm) {
    const r = viaCat
      ? await sh(vm.activity, `${chatterArgv(spec).join(' ')} | cat`)
      : await run(vm.activity, chatterArgv(spec));
    return [...exitProblems(r), ...verifyChatter(r.stdout, r.stderr, spec)];
  },
});

const patterns: Pattern[] = [
  chatter({ procs: 1, lines: 20_000, stderr: false }),
  chatter({ procs: 4, lines: 5000, stderr: true }),
  {
    name: 'yes flood | head -c 20000000',
    async go(vm) {
      const r = await sh(vm.activity, 'yes flood | head -c 20000000');
      const want = Buffer.from('flood\n'.repeat(Math.ceil(20_000_000 / 6)).slice(0, 20_000_000));
      return [
        ...exitProblems(r),
        ...(r.stdout.equals(want) ? [] : [`stdout: ${r.stdout.length} bytes, not the 20000000 expected`]),
      ];
    },
  },
  chatter({ procs: 2, lines: 10_000, stderr: true }, true),
  {
    name: 'two chatter commands at once',
    async go(vm) {
      const a: ChatterSpec = { procs: 2, lines: 5000, stderr: true };
      const b: ChatterSpec = { procs: 1, lines: 8000, stderr: false };
      const [ra, rb] = await Promise.all([run(vm.activity, chatterArgv(a)), run(vm.activity, chatterArgv(b))]);
      return [
        ...exitProblems(ra),
        ...verifyChatter(ra.stdout, ra.stderr, a),
        ...exitProblems(rb),
        ...verifyChatter(rb.stdout, rb.stderr, b),
      ];
    },
  },
  {
    name: 'seq 1 200000',
    async go(vm) {
      const r = await run(vm.activity, ['seq', '1', '200000']);
      const want = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join('');
      return [
        ...exitProblems(r),
        ...(r.stdout.toString() === want ? [] : [`stdout: ${r.stdout.length} bytes, not ${want.length}`]),
      ];
    },
  },
];

let vm: TestVm;
before(async () => {
  vm = await bootTestVm({ globals: ['--cpu-cores', '1', '--mem-gib', '0.5', '--storage-gib', '1'] });
});
after(async () => {
  await vm?.dispose();
});

test(`${RUNS} runs of small-write and big-write producers (1 vCPU, 0.5 GiB): exact output, no guest oops`, async () => {
  const consoleLog = `${vm.workdir}/logs/console.log`;
  for (let i = 0; i < RUNS; i++) {
    const p = patterns[i % patterns.length]!;
    const problems = await p.go(vm).catch((err: unknown) => [`failed: ${(err as Error).message}`]);
    const crash = GUEST_CRASH_LINE.exec(await fsp.readFile(consoleLog, 'utf8'));
    assert.equal(crash, null, `run ${i} (${p.name}): the guest kernel crashed: ${crash?.[0]}`);
    assert.deepEqual(problems, [], `run ${i} (${p.name})`);
  }
});
