/**
 * stdout streaming: `dd if=/dev/zero bs=1M count=256` in the guest, every byte delivered to the host's output sink
 * (counted, then dropped), timed on the host from exec to the exit notice: guest pipe -> init -> virtio-serial ->
 * QEMU chardev socket -> GuestClient -> sink, under the credit flow control. (Not busybox `head -c`: it copies
 * byte by byte through stdio, about 7 MB/s under TCG, and would measure itself.)
 *
 * Floor: the same bytes through a pipe inside the guest, `dd if=/dev/zero bs=1M count=256 | cat > /dev/null`,
 * timed by the host minus an exec round trip (see timedInGuest; the guest-clock figure is the second floor).
 *
 * Small writes: `chatter -n 300000` (test/image/chatter.c) writes 300000 lines of 9..80 bytes, one write(2) each,
 * as line-buffered stdio programs do; the floor is the same writer into an in-guest pipe (`chatter | cat`).
 */
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { makeFigure, type Figure } from './lib/results.js';
import { mbPerSec } from './lib/stats.js';
import { execBaseline, guestClocksource, runIn, timedInGuest, type BootedVm } from './lib/vm.js';

export const STREAM_BYTES = 256 * 1024 * 1024;
export const CHATTER_LINES = 300_000;

/** One warm-up of each, then n rounds alternating the producer (host-timed) and its in-guest pipe floor. */
async function alternate(
  n: number,
  once: () => Promise<{ ms: number; bytes: number }>,
  pipe: () => Promise<{ host: number; guest: number }>,
): Promise<{ bytes: number; samples: number[]; floor: number[]; floorGuest: number[] }> {
  const { bytes } = await once();
  await pipe();
  const samples: number[] = [];
  const floor: number[] = [];
  const floorGuest: number[] = [];
  for (let i = 0; i < n; i++) {
    samples.push(mbPerSec(bytes, (await once()).ms));
    const p = await pipe();
    floor.push(mbPerSec(bytes, p.host));
    floorGuest.push(mbPerSec(bytes, p.guest));
  }
  return { bytes, samples, floor, floorGuest };
}

export async function streaming(ctx: BenchContext, vm: BootedVm): Promise<Figure[]> {
  const n = iterations(ctx, 2, 5);
  const a = vm.activity;
  const base = await execBaseline(a);
  const timed = async (argv: string[]): Promise<{ ms: number; bytes: number; code: number; stderr: string }> => {
    const t0 = performance.now();
    const r = await runIn(a, argv, { countOnly: true });
    return { ms: performance.now() - t0, bytes: r.stdoutBytes, code: r.code, stderr: r.stderr.toString() };
  };

  ctx.say(`stdout streaming: 1 warm-up + ${n} runs of ${STREAM_BYTES >> 20} MiB, alternating with the in-guest pipe`);
  const mib = STREAM_BYTES >> 20;
  const big = await alternate(
    n,
    async () => {
      const r = await timed(['/bin/dd', 'if=/dev/zero', 'bs=1M', `count=${mib}`]);
      if (r.code !== 0 || r.bytes !== STREAM_BYTES)
        throw new Error(`streaming: exit ${r.code}, ${r.bytes} of ${STREAM_BYTES} bytes arrived`);
      return r;
    },
    () => timedInGuest(a, ['/bin/sh', '-c', `dd if=/dev/zero bs=1M count=${mib} 2>/dev/null | cat > /dev/null`], base),
  );

  ctx.say(
    `stdout streaming, small writes: 1 warm-up + ${n} runs of chatter -n ${CHATTER_LINES}, alternating with the in-guest pipe`,
  );
  const chatter = ['/usr/local/bin/chatter', '-n', String(CHATTER_LINES)];
  const small = await alternate(
    n,
    async () => {
      const r = await timed(chatter);
      if (r.code !== 0) throw new Error(`small-write streaming: exit ${r.code}: ${r.stderr}`);
      return r;
    },
    () => timedInGuest(a, ['/bin/sh', '-c', `${chatter.join(' ')} | cat > /dev/null`], base),
  );
  const clock = await guestClocksource(a);
  return [
    makeFigure({
      id: 'stdout-stream-lines',
      title: `stdout streaming of ${CHATTER_LINES} lines written one write(2) each`,
      unit: 'MB/s',
      better: 'higher',
      samples: small.samples,
      floors: [
        {
          label:
            'the same writer into a pipe inside the guest (chatter | cat > /dev/null), host clock minus one exec round trip',
          samples: small.floor,
        },
        { label: `the same pipe, guest clock (clocksource ${clock})`, samples: small.floorGuest },
      ],
      notes: [`${small.bytes} bytes in lines of 9..80 bytes (test/image/chatter.c); reported, no target`],
    }),
    makeFigure({
      id: 'stdout-stream',
      title: 'stdout streaming of 256 MiB to the host',
      unit: 'MB/s',
      better: 'higher',
      samples: big.samples,
      floors: [
        {
          label:
            'the same bytes through a pipe inside the guest (dd | cat > /dev/null), host clock minus one exec round trip',
          samples: big.floor,
        },
        { label: `the same pipe, guest clock (clocksource ${clock})`, samples: big.floorGuest },
      ],
      target: { text: 'at least 50 % of the in-guest pipe', bound: 'min', ratio: 0.5 },
      notes: [
        'MB = 10^6 bytes; timed on the host from exec to the exit notice, all bytes counted; dd bs=1M writes 1 MiB at a time into the pipe',
      ],
    }),
  ];
}
