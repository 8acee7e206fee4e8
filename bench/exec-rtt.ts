/**
 * Exec round trip: Activity.exec of /bin/true in a running VM until its exit is reported (host -> agent ->
 * fork/exec in the guest -> exit notice -> host), run one after another.
 *
 * Floor: forkexec (bench/guest/forkexec.c) inside the same guest: fork + execv + waitpid of the same /bin/true:
 * what the guest needs to start and reap a process, no channel. Timed by the host's clock, independent of the
 * guest's (which may be jiffies under TCG): one sample = (wall of `forkexec B+1` - wall of `forkexec 1`) / B, so the
 * round trip of the exec that runs the helper cancels out. Also shown: the guest's own clock for the same runs
 * (batch means), and the helper on the host (the host's own fork+exec cost).
 */
import { execa } from 'execa';
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { makeFigure, type Figure } from './lib/results.js';
import { guestClocksource, mustRun, type BootedVm } from './lib/vm.js';

function parseForkexec(out: string): number[] {
  const lines = out.trim().split('\n');
  if (lines.pop() !== 'ok') throw new Error(`forkexec did not finish: ${out.slice(-200)}`);
  return lines.map((l) => Number(l) / 1e6);
}

const BATCH = 10;
const DIFF_BATCH = 10;

function batchMeans(xs: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + BATCH <= xs.length; i += BATCH)
    out.push(xs.slice(i, i + BATCH).reduce((a, b) => a + b, 0) / BATCH);
  return out;
}

export async function execRoundTrip(ctx: BenchContext, vm: BootedVm): Promise<Figure[]> {
  const n = iterations(ctx, 50, 200);
  ctx.say(`exec round trip: 20 warm-up + ${n} runs of /bin/true, floor: forkexec ${n} in the guest`);
  const a = vm.activity;
  for (let i = 0; i < 20; i++) await mustRun(a, ['/bin/true']);
  await mustRun(a, ['/usr/local/bin/forkexec', '20', '/bin/true']);
  const wall = async (count: number): Promise<{ ms: number; guest: number[] }> => {
    const t0 = performance.now();
    const out = (await mustRun(a, ['/usr/local/bin/forkexec', String(count), '/bin/true'])).stdout.toString();
    return { ms: performance.now() - t0, guest: parseForkexec(out) };
  };
  // Figure and floor are taken in alternating rounds (DIFF_BATCH round trips, then one floor sample), so that a
  // burst of load from the machine's neighbours hits both alike instead of one block of samples.
  const samples: number[] = [];
  const guestFloor: number[] = [];
  const guestClock: number[] = [];
  for (let round = 0; round < n / DIFF_BATCH; round++) {
    for (let i = 0; i < DIFF_BATCH; i++) {
      const t0 = performance.now();
      await mustRun(a, ['/bin/true']);
      samples.push(performance.now() - t0);
    }
    const one = await wall(1);
    const many = await wall(DIFF_BATCH + 1);
    guestFloor.push((many.ms - one.ms) / DIFF_BATCH);
    guestClock.push(...many.guest);
  }
  const clock = await guestClocksource(a);
  const hostRun = await execa(ctx.art.helpers.forkexec, [String(n), '/bin/true'], { reject: false });
  const hostFloor = hostRun.exitCode === 0 ? batchMeans(parseForkexec(String(hostRun.stdout))) : [];
  return [
    makeFigure({
      id: 'exec-rtt',
      title: 'Exec round trip of /bin/true in a running VM',
      unit: 'ms',
      better: 'lower',
      samples,
      floors: [
        {
          label: `fork+exec+wait of /bin/true inside the same guest (forkexec), host clock, per-run means of ${DIFF_BATCH}`,
          samples: guestFloor,
        },
        { label: `the same, guest clock (clocksource ${clock}), means of ${BATCH}`, samples: batchMeans(guestClock) },
        { label: 'fork+exec+wait of /bin/true on the host (forkexec)', samples: hostFloor },
      ],
      target: { text: 'p50 within 2x of the in-guest floor', bound: 'max', ratio: 2 },
      notes: [
        `${n} sequential runs after 20 warm-up runs, in rounds of ${DIFF_BATCH} alternating with the in-guest floor; /bin/true is busybox (static) in the guest, coreutils on the host`,
        `guest clocksource: ${clock}`,
      ],
    }),
  ];
}
