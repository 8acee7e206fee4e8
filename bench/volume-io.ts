/**
 * Volume throughput: sequential write and read of 256 MiB on a host volume (/golem/output) through virtio-fs, or
 * 9p when the VM was booted with `--volumes 9p`. Guest commands are timed by the host minus one exec round trip
 * (timedInGuest: the guest clock may be jiffies under TCG; its figures are kept in the breakdown):
 *  - write: `dd if=/dev/zero of=<vol>/w bs=1M count=256 conv=fsync` (the fsync makes virtiofsd/QEMU write it out);
 *  - read:  `dd if=<vol>/r-N of=/dev/null bs=1M` of a file the host wrote just before (never in the guest's page
 *    cache, so every byte crosses the transport; it is in the host's page cache).
 * Floors, same commands in the same run: the guest's tmpfs (/tmp; the read is of the file the guest just wrote, in
 * memory) and the host folder itself (the volume's directory, written and read on the host with the same dd
 * arguments, timed by the same helper).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { BenchContext } from './lib/context.js';
import { iterations } from './lib/context.js';
import { makeFigure, type Figure } from './lib/results.js';
import { mbPerSec } from './lib/stats.js';
import { execBaseline, mustRun, timedInGuest, type BootedVm } from './lib/vm.js';

export const IO_MIB = 256;
const IO_BYTES = IO_MIB * 1024 * 1024;

async function hostTimed(ctx: BenchContext, argv: string[]): Promise<number> {
  const r = await execa(ctx.art.helpers.timeit, argv, { reject: false, stdout: 'ignore' });
  const m = /timeit ns=(\d+) status=0/.exec(String(r.stderr));
  if (r.exitCode !== 0 || !m) throw new Error(`host ${argv.join(' ')} failed: ${String(r.stderr).trim().slice(-300)}`);
  return Number(m[1]) / 1e6;
}

export async function volumeIo(ctx: BenchContext, vm: BootedVm, transport: 'virtiofs' | '9p'): Promise<Figure[]> {
  const vol = vm.deployment.volumes.find((v) => v.kind === 'host' && v.guestPath === '/golem/output');
  if (!vol || vol.kind !== 'host') throw new Error('the bench image has no host volume /golem/output');
  if (vm.activity.transport !== transport)
    throw new Error(`asked for ${transport}, the activity uses ${vm.activity.transport}`);
  const n = iterations(ctx, 2, 5);
  ctx.say(
    `${transport} volume I/O: 1 warm-up + ${n} runs of ${IO_MIB} MiB write+read, floors: guest tmpfs, host folder`,
  );
  const a = vm.activity;
  const dd = '/bin/dd';
  const count = [`bs=1M`, `count=${IO_MIB}`];
  const w: number[] = [];
  const r: number[] = [];
  const tw: number[] = [];
  const tr: number[] = [];
  const hw: number[] = [];
  const hr: number[] = [];
  const gw: number[] = [];
  const gr: number[] = [];
  const base = await execBaseline(a);
  for (let i = -1; i < n; i++) {
    const keep = i >= 0;
    const put = (arr: number[], ms: number): void => void (keep && arr.push(mbPerSec(IO_BYTES, ms)));
    const guest = async (host: number[], guestClock: number[] | undefined, argv: string[]): Promise<void> => {
      const t = await timedInGuest(a, argv, base);
      put(host, t.host);
      if (guestClock) put(guestClock, t.guest);
    };
    // transport write
    await guest(w, gw, [dd, 'if=/dev/zero', `of=${vol.guestPath}/w.bin`, ...count, 'conv=fsync']);
    await mustRun(a, ['/bin/rm', '-f', `${vol.guestPath}/w.bin`]);
    // transport read of a file only the host has touched
    const name = `r-${i + 1}.bin`;
    await execa('dd', ['if=/dev/zero', `of=${path.join(vol.hostPath, name)}`, ...count, 'status=none']);
    await guest(r, gr, [dd, `if=${vol.guestPath}/${name}`, 'of=/dev/null', 'bs=1M']);
    await fsp.rm(path.join(vol.hostPath, name), { force: true });
    // guest tmpfs
    await guest(tw, undefined, [dd, 'if=/dev/zero', 'of=/tmp/w.bin', ...count, 'conv=fsync']);
    await guest(tr, undefined, [dd, 'if=/tmp/w.bin', 'of=/dev/null', 'bs=1M']);
    await mustRun(a, ['/bin/rm', '-f', '/tmp/w.bin']);
    // host folder
    const hf = path.join(vol.hostPath, 'h.bin');
    put(hw, await hostTimed(ctx, ['/bin/dd', 'if=/dev/zero', `of=${hf}`, ...count, 'conv=fsync', 'status=none']));
    put(hr, await hostTimed(ctx, ['/bin/dd', `if=${hf}`, 'of=/dev/null', 'bs=1M', 'status=none']));
    await fsp.rm(hf, { force: true });
  }
  const label = transport === 'virtiofs' ? 'virtio-fs' : '9p';
  const floors = (t: number[], h: number[]): { label: string; samples: number[] }[] => [
    { label: "the guest's tmpfs (/tmp), same dd", samples: t },
    { label: 'the host folder behind the volume, same dd on the host', samples: h },
  ];
  const target = { text: 'at least 50 % of the guest tmpfs', bound: 'min' as const, ratio: 0.5 };
  const notes = ['MB = 10^6 bytes; dd bs=1M; write with conv=fsync; timed by the host minus one exec round trip'];
  return [
    makeFigure({
      id: `${transport}-write`,
      title: `${label} sequential write, ${IO_MIB} MiB`,
      unit: 'MB/s',
      better: 'higher',
      samples: w,
      floors: floors(tw, hw),
      target,
      notes,
      breakdown: [{ name: 'the same, guest clock (MB/s)', samples: gw }],
    }),
    makeFigure({
      id: `${transport}-read`,
      title: `${label} sequential read, ${IO_MIB} MiB (host-written file)`,
      unit: 'MB/s',
      better: 'higher',
      samples: r,
      floors: floors(tr, hr),
      target,
      notes,
      breakdown: [{ name: 'the same, guest clock (MB/s)', samples: gr }],
    }),
  ];
}
