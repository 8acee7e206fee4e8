/**
 * `npm run bench [-- --quick] [-- --only id,id]`: every scenario after a warm-up, each figure beside its floor
 * measured in the same run; prints a table, writes bench/results/<date>.json, regenerates docs/benchmarks.md.
 *
 * Order: artefacts (cached) -> Node cost (no VM) -> start path via runtime-path (bench/start-path.ts) -> cold start
 * (alternating with the floor VM) -> one VM for exec round trip, stdout streaming and virtio-fs I/O -> one VM with
 * `--volumes 9p` for 9p I/O -> idle memory (1, then 4 activities in service mode) -> 16 activities at once
 * (bench/many.ts) -> two VMs joined by a test VPN switch (TCP throughput, ping; bench/net.ts). A
 * scenario that fails is recorded as not measured, with its error, and the run goes on. No figure is asserted
 * anywhere: speed is reported, not tested (it varies with the machine's load).
 *
 * Scenario ids for --only: node, startpath, cold, exec, stream, virtiofs, 9p, memory, many, net, pack.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { defaultCacheDir } from '../src/cache-dir.js';
import { locateGuestFiles, type GuestFiles } from '../src/vm/guest-files.js';
import { probeAccel, type AccelDecision } from '../src/vm/accel-probe.js';
import { silentLogger } from '../src/log.js';
import { prepareArtefacts } from './lib/artefacts.js';
import type { BenchContext } from './lib/context.js';
import { machineInfo, RESULTS_DIR } from './lib/env.js';
import type { BenchResults, Figure, Skipped } from './lib/results.js';
import { bootVm, type BootedVm } from './lib/vm.js';
import { coldStart } from './cold-start.js';
import { startPath } from './start-path.js';
import { execRoundTrip } from './exec-rtt.js';
import { streaming } from './streaming.js';
import { volumeIo } from './volume-io.js';
import { idleMemory } from './idle-memory.js';
import { nodeCost } from './node-cost.js';
import { vpnNetwork } from './net.js';
import { textTable, writeReport } from './report.js';
import { packSpeed } from './pack.js';
import { manyActivities } from './many.js';

const ALL = ['node', 'startpath', 'cold', 'exec', 'stream', 'virtiofs', '9p', 'memory', 'many', 'net', 'pack'] as const;
type ScenarioId = (typeof ALL)[number];

const TITLES: Record<ScenarioId, string> = {
  node: 'Node process cost (--version, deploy of a 100 MiB image)',
  startpath: 'Start path via runtime-path, as multiples of node -e 0',
  cold: 'Cold start',
  exec: 'Exec round trip',
  stream: 'stdout streaming',
  virtiofs: 'virtio-fs sequential write/read',
  '9p': '9p sequential write/read',
  memory: 'Idle memory (1 and 4 activities)',
  many: '16 activities at once (2 with --quick)',
  net: 'VPN network between two VMs',
  pack: 'pack of a 100 MB image (uncompressed and gzip layers)',
};

const CPUS = 1;
const MEM_GIB = 1;
const STORAGE_GIB = 1;

interface Args {
  quick: boolean;
  only: Set<ScenarioId>;
  report: boolean;
  check: boolean;
  before?: string;
}

function parseArgs(argv: string[]): Args {
  let quick = false;
  let before: string | undefined;
  let report = true;
  let check = false;
  let only = new Set<ScenarioId>(ALL);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--no-report') report = false;
    else if (a === '--check') check = true;
    else if (a === '--before' || a.startsWith('--before=')) {
      before = path.resolve(a === '--before' ? (argv[++i] ?? '') : a.slice('--before='.length));
    } else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      const ids = (v ?? '').split(',').filter(Boolean);
      const bad = ids.filter((id) => !(ALL as readonly string[]).includes(id));
      if (bad.length || ids.length === 0)
        throw new Error(`--only: unknown scenario ${bad.join(',') || '(none)'}; known: ${ALL.join(', ')}`);
      only = new Set(ids as ScenarioId[]);
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(
        `usage: node dist/bench/run.js [--quick] [--only ${ALL.join(',')}] [--no-report] [--check] [--before DIR]\n` +
          '  --before DIR: a built checkout of an older commit: the start path is measured for it too, interleaved\n' +
          '  --check: exit 1 when a scenario asked for was not measured (CI runs --quick --check so the bench keeps working)\n',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  return { quick, only, report, check, ...(before ? { before } : {}) };
}

async function main(): Promise<void> {
  const started = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const say = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);
  // Without a built guest only the Node-cost figures can run; the others are reported as not measured.
  let guestMissing: string | undefined;
  const guest = await locateGuestFiles().catch((err: unknown): GuestFiles => {
    guestMissing = err instanceof Error ? err.message : String(err);
    say(`${guestMissing}: only the scenarios without a VM run`);
    return { dir: '', kernel: '', initramfs: '', manifest: {}, tried: [] };
  });
  const accel: AccelDecision = guestMissing
    ? { accel: 'tcg', reason: 'not probed: no guest kernel' }
    : await probeAccel('auto', { kernelPath: guest.kernel, cacheDir: defaultCacheDir(), log: silentLogger() });
  say(`accelerator: ${accel.accel} (${accel.reason})`);
  say('preparing artefacts (helpers, floor initramfs, bench images; cached)');
  const art = await prepareArtefacts();
  const qemuVersion = (await execa('qemu-system-x86_64', ['--version'])).stdout.split('\n')[0] ?? '';
  const ctx: BenchContext = {
    quick: args.quick,
    art,
    guest,
    accel: accel.accel,
    cpus: CPUS,
    memBytes: MEM_GIB * 1024 ** 3,
    deployGlobals: ['--cpu-cores', String(CPUS), '--mem-gib', String(MEM_GIB), '--storage-gib', String(STORAGE_GIB)],
    say,
    ...(args.before ? { beforeRoot: args.before } : {}),
  };
  const figures: Figure[] = [];
  const skipped: Skipped[] = [];
  const attempt = async (id: ScenarioId, f: () => Promise<Figure[]>): Promise<void> => {
    if (!args.only.has(id)) return;
    if (guestMissing && id !== 'node') {
      skipped.push({ id, title: TITLES[id], why: `no guest to boot: ${guestMissing}` });
      return;
    }
    try {
      figures.push(...(await f()));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      say(`${id} failed: ${why}`);
      skipped.push({ id, title: TITLES[id], why: `failed in this run: ${why.split('\n')[0]!.slice(0, 400)}` });
    }
  };
  const withVm = async (
    ids: ScenarioId[],
    volumes: 'virtiofs' | '9p',
    body: (vm: BootedVm) => Promise<void>,
  ): Promise<void> => {
    if (!ids.some((id) => args.only.has(id))) return;
    if (guestMissing) {
      for (const id of ids) await attempt(id, () => Promise.resolve([]));
      return;
    }
    let vm: BootedVm;
    try {
      vm = await bootVm(art.benchImage, ctx.deployGlobals, { volumes, tag: volumes });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      say(`cannot boot the ${volumes} bench VM: ${why}`);
      for (const id of ids)
        if (args.only.has(id))
          skipped.push({
            id,
            title: TITLES[id],
            why: `the bench VM (--volumes ${volumes}) did not boot: ${why.split('\n')[0]!.slice(0, 400)}`,
          });
      return;
    }
    try {
      await body(vm);
    } finally {
      await vm.dispose().catch((err: unknown) => say(`teardown of the ${volumes} VM failed: ${String(err)}`));
    }
  };

  await attempt('node', () => nodeCost(ctx));
  await attempt('startpath', () => startPath(ctx));
  await attempt('cold', () => coldStart(ctx));
  await withVm(['exec', 'stream', 'virtiofs'], 'virtiofs', async (vm) => {
    await attempt('exec', () => execRoundTrip(ctx, vm));
    await attempt('stream', () => streaming(ctx, vm));
    await attempt('virtiofs', () => volumeIo(ctx, vm, 'virtiofs'));
  });
  await withVm(['9p'], '9p', async (vm) => attempt('9p', () => volumeIo(ctx, vm, '9p')));
  await attempt('memory', () => idleMemory(ctx));
  await attempt('many', () => manyActivities(ctx));
  await attempt('net', () => vpnNetwork(ctx));
  await attempt('pack', () => packSpeed(ctx));

  const manifestKernel = guest.manifest['kernel'];
  const results: BenchResults = {
    schema: 1,
    date: new Date().toISOString(),
    quick: args.quick,
    durationS: Math.round((Date.now() - started) / 100) / 10,
    machine: machineInfo(qemuVersion),
    accel: { accel: accel.accel, reason: accel.reason },
    deployment: { cpuCores: CPUS, memGiB: MEM_GIB, storageGiB: STORAGE_GIB },
    guest: {
      dir: guest.dir,
      kernelRelease:
        typeof manifestKernel === 'object' && manifestKernel !== null && 'release' in manifestKernel
          ? String(manifestKernel.release)
          : 'unknown',
      hash: typeof guest.manifest['hash'] === 'string' ? guest.manifest['hash'] : 'unknown',
    },
    figures,
    skipped,
  };
  await fs.mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${results.date.replace(/[:.]/g, '-')}.json`);
  await fs.writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${textTable(results)}\n`);
  say(`results: ${path.relative(process.cwd(), file)} (${results.durationS} s)`);
  if (args.report) say(`report: ${path.relative(process.cwd(), await writeReport(results))}`);
  if (args.check && skipped.length > 0) {
    say(`--check: ${skipped.length} scenario(s) not measured: ${skipped.map((s) => s.id).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
