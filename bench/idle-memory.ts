/**
 * Idle memory of whole activities, run the way yagna runs them: `ya-runtime-vm start` in service mode (spawned by
 * the ExeUnit-like client of test/helpers/exeunit-client.ts), booted by its Hello, then left idle. Measured from
 * /proc for every live process whose command line names the activity's workdir: the runtime (Node), QEMU and each
 * virtiofsd. RSS counts the guest memory that QEMU and virtiofsd share (the memfd) twice; PSS splits shared pages,
 * so the headline is PSS. One activity, then 4 at once (also: how long 4 take to boot together).
 *
 * Floor: a VM that does nothing (the same QEMU settings, floor-init with `ybench_idle=1`: it sleeps as PID 1) plus
 * an idle Node process (`node -e setInterval`): one QEMU and one Node, the least an activity can cost.
 *
 * Host memory (issue 16): the same PSS less the guest RAM mapping (the memfd QEMU and virtiofsd share, which the
 * guest fills as it likes), i.e. what the runtime, QEMU and virtiofsd cost the host themselves, against a bare
 * QEMU's host PSS (the idle floor VM, less its guest RAM) plus an idle node's PSS. (`node -e 0` ends before it can
 * be read; an idle `node -e setInterval` is the same process, kept alive.)
 */
import { execa, type ResultPromise } from 'execa';
import { ExeUnitClient } from '../test/helpers/exeunit-client.js';
import type { BenchContext } from './lib/context.js';
import { floorBoot, floorQemuArgs } from './cold-start.js';
import { makeFigure, type Figure } from './lib/results.js';
import { hostPss, newWorkdir, procMem, processesOf, removeWorkdir, sleep, type ProcMem } from './lib/vm.js';
import { deployTo } from '../test/helpers/vm.js';

const SETTLE_MS = 3000;
const SAMPLES = 3;

interface Started {
  workdir: string;
  client: ExeUnitClient;
}

async function startActivities(ctx: BenchContext, count: number): Promise<{ list: Started[]; bootMs: number }> {
  const list: Started[] = [];
  for (let i = 0; i < count; i++) {
    const workdir = await newWorkdir('mem');
    await deployTo(workdir, ctx.art.benchImage, ctx.deployGlobals);
    list.push({ workdir, client: ExeUnitClient.spawn({ workdir, globalArgs: ['--workdir', workdir] }) });
  }
  const t0 = performance.now();
  try {
    await Promise.all(list.map((s) => s.client.hello()));
  } catch (err) {
    await stopActivities(list);
    throw err;
  }
  return { list, bootMs: performance.now() - t0 };
}

async function stopActivities(list: Started[]): Promise<void> {
  for (const s of list) {
    await s.client.shutdown(10_000).catch(() => undefined);
    await removeWorkdir(s.workdir);
  }
}

const mib = (kib: number): number => kib / 1024;

/** SAMPLES readings 1 s apart of the given activities' processes: totals and the per-kind split of the last. */
export async function measure(
  workdirs: string[],
): Promise<{ pss: number[]; rss: number[]; host: number[]; last: ProcMem[] }> {
  const pss: number[] = [];
  const rss: number[] = [];
  const host: number[] = [];
  let last: ProcMem[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    if (i > 0) await sleep(1000);
    last = workdirs.flatMap((w) => processesOf(w));
    pss.push(mib(last.reduce((s, p) => s + p.pssKiB, 0)));
    rss.push(mib(last.reduce((s, p) => s + p.rssKiB, 0)));
    host.push(mib(last.reduce((s, p) => s + p.hostPssKiB, 0)));
  }
  return { pss, rss, host, last };
}

function byKind(procs: ProcMem[], per: number): { name: string; samples: number[] }[] {
  const kinds = ['runtime', 'qemu', 'virtiofsd'] as const;
  return kinds.flatMap((k) => {
    const ps = procs.filter((p) => p.kind === k);
    return [
      {
        name: `${k} PSS per activity (MiB, ${ps.length / per} process(es))`,
        samples: [mib(ps.reduce((s, p) => s + p.pssKiB, 0)) / per],
      },
      {
        name: `${k} PSS less guest RAM per activity (MiB)`,
        samples: [mib(ps.reduce((s, p) => s + p.hostPssKiB, 0)) / per],
      },
      { name: `${k} RSS per activity (MiB)`, samples: [mib(ps.reduce((s, p) => s + p.rssKiB, 0)) / per] },
    ];
  });
}

/** Idle floor: a VM whose init sleeps + an idle Node; PSS/RSS totals in MiB; host = PSS less the VM's guest RAM. */
async function floorMemory(
  ctx: BenchContext,
): Promise<{ pss: number[]; rss: number[]; host: number[]; qemuHost: number[]; node: number[] }> {
  const args = floorQemuArgs(ctx, ['ybench_idle=1']);
  const procs: ResultPromise[] = [
    execa('qemu-system-x86_64', args, { reject: false, stdin: 'ignore' }),
    execa(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { reject: false, stdin: 'ignore' }),
  ];
  try {
    await sleep(SETTLE_MS);
    const pss: number[] = [];
    const rss: number[] = [];
    const host: number[] = [];
    const qemuHost: number[] = [];
    const node: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      if (i > 0) await sleep(1000);
      const m = procs.map((p) => procMem(p.pid ?? -1));
      const h = procs.map((p) => hostPss(p.pid ?? -1));
      if (m.some((x) => x === undefined) || h.some((x) => x === undefined))
        throw new Error('idle floor: QEMU or node ended early');
      pss.push(mib(m.reduce((s, x) => s + x!.pssKiB, 0)));
      rss.push(mib(m.reduce((s, x) => s + x!.rssKiB, 0)));
      host.push(mib(h.reduce((s, x) => s + x!.hostKiB, 0)));
      qemuHost.push(mib(h[0]!.hostKiB));
      node.push(mib(h[1]!.hostKiB));
    }
    return { pss, rss, host, qemuHost, node };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs);
  }
}

export async function idleMemory(ctx: BenchContext): Promise<Figure[]> {
  ctx.say(
    `idle memory: 1 activity, then 4 at once (service mode), ${SETTLE_MS / 1000} s settle, ${SAMPLES} readings; floor: idle trivial VM + idle node`,
  );
  const floor = await floorMemory(ctx);
  const figures: Figure[] = [];
  for (const count of [1, 4]) {
    const { list, bootMs } = await startActivities(ctx, count);
    let m: Awaited<ReturnType<typeof measure>>;
    try {
      await sleep(SETTLE_MS);
      m = await measure(list.map((s) => s.workdir));
    } finally {
      await stopActivities(list);
    }
    const scale = (xs: number[]): number[] => xs.map((x) => x * count);
    figures.push(
      makeFigure({
        id: `idle-mem-${count}`,
        title:
          count === 1
            ? 'Idle memory of one activity (PSS: runtime + QEMU + virtiofsd)'
            : `Idle memory of ${count} activities at once (PSS, total)`,
        unit: 'MiB',
        better: 'lower',
        samples: m.pss,
        floors: [
          { label: `${count === 1 ? '' : `${count} x `}(idle trivial VM + idle node), PSS`, samples: scale(floor.pss) },
        ],
        breakdown: [
          { name: 'total RSS (MiB; shared guest memory counted twice)', samples: m.rss },
          ...byKind(m.last, count),
        ],
      }),
    );
    if (count === 1) {
      figures.push(
        makeFigure({
          id: 'idle-host-mem-1',
          title: 'Idle host memory of one activity, guest RAM excluded (PSS: runtime + QEMU + virtiofsd)',
          unit: 'MiB',
          better: 'lower',
          samples: m.host,
          floors: [{ label: 'bare QEMU (idle trivial VM, guest RAM excluded) + idle node, PSS', samples: floor.host }],
          target: { text: '≤ 1.3x bare QEMU + node', bound: 'max', ratio: 1.3 },
          breakdown: [
            { name: 'floor: bare QEMU less guest RAM (MiB)', samples: floor.qemuHost },
            { name: 'floor: idle node (MiB)', samples: floor.node },
            ...byKind(m.last, 1).filter((p) => p.name.includes('less guest RAM')),
          ],
          notes: ['guest RAM = the memory-backend-memfd mapping in QEMU and virtiofsd (bench/lib/vm.ts, hostPss)'],
        }),
      );
    }
    if (count > 1) {
      // After the activities are gone, so the floor VMs do not share the CPUs with them.
      const t0 = performance.now();
      await Promise.all(Array.from({ length: count }, () => floorBoot(ctx)));
      const floorMs = performance.now() - t0;
      figures.push(
        makeFigure({
          id: `boot-${count}`,
          title: `Boot of ${count} activities at once (Hello sent to all -> all ready)`,
          unit: 'ms',
          better: 'lower',
          samples: [bootMs],
          floors: [{ label: `${count} floor VMs (trivial init) booted at once, spawn to exit`, samples: [floorMs] }],
          notes: ['one run; the deploys are done before and not timed'],
        }),
      );
    }
  }
  return figures;
}
