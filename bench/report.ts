/**
 * The generator of docs/benchmarks.md (and of the console table) from one run's results. Pure rendering plus
 * writeReport; run on its own, `node dist/bench/report.js [bench/results/X.json]` regenerates the page from the
 * given (default: the newest) results file, without measuring anything.
 *
 * Every row shows the figure's median, p90, min, max, its floor's median (measured in the same run) and the ratio
 * figure/floor, the headline. For times, ratio = how many times the floor ("1.40x"); for throughputs, the share of
 * the floor ("62 %").
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPORT_PATH, RESULTS_DIR } from './lib/env.js';
import type { BenchResults, Figure } from './lib/results.js';

export function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '–';
  if (unit === 'MiB') return v.toFixed(1);
  if (unit === 'ms') return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
  return v < 10 ? v.toFixed(2) : v.toFixed(0);
}

export function ratioText(f: Figure): string {
  if (f.ratio === undefined) return '–';
  return f.better === 'lower' ? `${f.ratio.toFixed(2)}x` : `${(f.ratio * 100).toFixed(0)} %`;
}

function targetText(f: Figure): string {
  if (!f.target) return '';
  return `${f.target.met ? 'met' : 'NOT met'} (${f.target.bound === 'max' ? '≤' : '≥'} ${f.target.bound === 'max' ? `${f.target.ratio}x` : `${f.target.ratio * 100} %`})`;
}

/** Plain-text table for the console. */
export function textTable(r: BenchResults): string {
  const head = ['figure', 'unit', 'median', 'p90', 'min', 'max', 'floor median', 'ratio', 'target'];
  const rows = r.figures.map((f) => [
    f.id,
    f.unit,
    fmt(f.stats.median, f.unit),
    fmt(f.stats.p90, f.unit),
    fmt(f.stats.min, f.unit),
    fmt(f.stats.max, f.unit),
    f.floors[0] ? fmt(f.floors[0].stats.median, f.unit) : '–',
    ratioText(f),
    targetText(f),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  for (const s of r.skipped) out.push(`not measured: ${s.id}: ${s.why}`);
  return out.join('\n');
}

/** What each figure and its floor mean (keyed by figure id; 9p shares the virtio-fs text). */
const MEANING: Record<string, string> = {
  'cold-start':
    'Wall time from running `ya-runtime-vm deploy` (a Node process, as the ExeUnit runs it), then `ya-runtime-vm start` spawned as the ExeUnit spawns it (a second Node process: virtiofsd and QEMU spawned, guest agent HELLO, root and volume mounts, Hello answered on stdout), to the exit event of the first `/bin/true` sent as RunProcess. Runs before 2026-11-27 07:00 UTC booted the activity inside the bench process instead of spawning `start`, so they left out the second Node process start-up. ' +
    'Floor: the same QEMU command line (machine, memory, vCPUs, accelerator, kernel, `-sandbox`) booting a trivial static init from its own gzip initramfs that reboots at once (bench/guest/floor-init.c); spawn to QEMU exit. Runs alternate with floor runs.',
  'exec-rtt':
    'One `Activity.exec` of `/bin/true` in an already running VM until its exit is reported (host → agent over virtio-serial → fork/exec in the guest → exit notice after both pipes closed → host), 200 sequential runs (50 with --quick). ' +
    'Floor: fork + execv + waitpid of the same `/bin/true` inside the same guest (bench/guest/forkexec.c), timed by the host clock as (wall of `forkexec 11` − wall of `forkexec 1`) / 10, so the exec that runs the helper cancels out. ' +
    "The guest clock's view of the same runs and the host fork+exec are shown for reference.",
  'stdout-stream':
    '`dd if=/dev/zero bs=1M count=256` in the guest with every byte delivered to the host output sink (counted and dropped): guest pipe → init → virtio-serial → QEMU chardev socket → GuestClient → sink under credit flow control. Timed on the host from exec to exit notice. ' +
    'Floor: the same bytes through a pipe inside the guest (`dd … | cat > /dev/null`), timed by the host minus one exec round trip of `/bin/true`. (busybox `head -c` copies byte by byte through stdio, ~7 MB/s under TCG, so it is not the producer.)',
  'stdout-stream-lines':
    '`chatter -n 300000` (test/image/chatter.c, in the bench image) writes 300000 lines of 9..80 bytes with one write(2) each, as a line-buffered stdio program does; every byte is delivered to the host sink (counted and dropped). Timed on the host from exec to exit notice. ' +
    "Floor: the same writer into a pipe inside the guest (`chatter … | cat > /dev/null`), timed by the host minus one exec round trip. Here the writer's own system calls bound both, so the ratio shows what the relay costs a chatty program.",
  'virtiofs-write':
    "`dd if=/dev/zero of=/golem/output/w.bin bs=1M count=256 conv=fsync` on the host volume, timed by the host minus one exec round trip (the guest clock's figure is in the breakdown). Floors: the same dd to the guest tmpfs (`/tmp`), and the same dd on the host into the volume folder.",
  'virtiofs-read':
    '`dd if=/golem/output/r-N.bin of=/dev/null bs=1M` of a 256 MiB file the host wrote just before (not in the guest page cache; in the host page cache), timed like the write. Floors: reading back a file just written to the guest tmpfs, and the same dd on the host.',
  'idle-mem-1':
    'One activity run as yagna runs it (`ya-runtime-vm start` in service mode, booted by Hello), idle for 3 s, then PSS summed over every process naming its workdir: the runtime (Node), QEMU, virtiofsd. PSS splits the guest memory QEMU shares with virtiofsd (RSS counts it twice; both are in the breakdown). ' +
    'Floor: an idle trivial VM (same QEMU settings, init sleeps) plus an idle `node` process.',
  'idle-mem-4': 'Four activities started at once, as above; total PSS. Floor: 4 x (idle trivial VM + idle node).',
  'boot-4':
    'Wall time from sending Hello to 4 freshly deployed service-mode runtimes until all 4 answered (VMs ready). Floor: 4 floor VMs booted at once, spawn to exit.',
  'vpn-tcp':
    'TCP throughput from VM A to VM B over the VPN (docs/networking.md): two bench VMs (1 vCPU, 1 GiB each) started with `--vpn-endpoint udp://127.0.0.1:PORT` of an ExeUnit-like switch (test/helpers/vpn-switch.ts, in the bench process) and configured by CreateNetwork(VPN) as 192.168.77.2/24 (node-a) and .3 (node-b). ' +
    'A runs `dd if=/dev/zero bs=64k | nc node-b 5000` (64 MiB, 16 MiB with --quick) while B runs a busybox nc listener counting what it gets (`nc -l | wc -c`, checked after every transfer); timed on the host from exec to exit notice minus one exec round trip (the guest clock of timeit is in the notes). ' +
    "Each frame goes guest A virtio-net → QEMU A's UDP socket → the switch (Node, one datagram per frame) → QEMU B → guest B, MTU 1220; this is not yagna's relay (published Golem figures over the real VPN are 14–37 MB/s, yagna issue #2225). " +
    "Floors: the same transfer inside A over its own loopback (sender and listener sharing A's one vCPU; host clock, then guest clock), and the same transfer between two busybox nc on the host's loopback (host clock minus one process spawn). Rounds alternate the three. " +
    'busybox nc (1.35) moves 1 KiB per poll + read + write (strace), so under TCG the tool bounds the figure and the in-guest loopback floor alike: the ratio shows what the VPN path adds to that, not what the path could carry with large writes.',
  'vpn-rtt':
    'Round trip of a ping from VM A to VM B over the VPN described for `vpn-tcp` (A → QEMU A → switch in Node → QEMU B → B and back): busybox `ping -A node-b` in A, which sends the next echo as soon as the reply came, timed by the host clock as (wall of `ping -A -c 21` − wall of `ping -A -c 1`) / 20, so the exec and ping start-up cancel out; one sample = the mean of 20 back-to-back round trips, after pings that fill the ARP cache. ' +
    "Not ping's own `time=`: that is the guest clock, which under TCG falls back to jiffies (4 ms steps) when the kernel drops the TSC; it is listed among the floors for reference. " +
    "Floors: the same inside A to 127.0.0.1 (ICMP through the guest's own loopback, no device) and busybox `ping -A 127.0.0.1` on the host (by its own `time=`, the host clock, means of 20: a process spawn's jitter exceeds that round trip). Rounds alternate the three.",
  'pack-layers':
    '`ya-runtime-vm pack oci:DIR:TAG -o OUT.gvmi --compression lzo` (docs/image-import.md) of an OCI layout of two uncompressed layers, the bench root filesystem and 100 MiB of random bytes in 4 files, timed from spawning the CLI to its exit: two passes over the layers (headers, then contents), the flattened tar streamed into sqfstar. ' +
    'Floor: mksquashfs -comp lzo of the same tree already flattened in a folder (what gvmkit-build does after Docker has flattened it). Runs alternate.',
  'pack-gzip-layers':
    'The same as `pack-layers`, with the layers gzip-compressed (zlib, default level), as registries and Docker 29 saves hold them: each layer is decompressed twice (once per pass). Same floor.',
  'start-path-deploy':
    "Wall time of `deploy` spawned as the ExeUnit spawns it: the descriptor's `runtime-path` (`bin/ya-runtime-vm`, through its `#!/usr/bin/env node`), cwd = a fresh workdir, the bench image, 1 GiB storage, until it exits (plan, folders, the sparse root-upper disk, mkfs.ext4, deployment.json). Floor: `node -e 0` (Node's own start-up, the floor we accept), measured in the same rounds.",
  'start-path-qemu':
    'From spawning `start` (runtime-path, service mode, cwd = workdir) to its "qemu started" log line (QEMU spawned under setpriv): Node start-up, the bundle, reading deployment.json, the accelerator and virtiofsd probes (cached), virtiofsd up. Floor: `node -e 0`.',
  'start-path-agent':
    'From QEMU spawned to the guest agent\'s HELLO ("guest agent connected"): the guest kernel and our init booting. Under TCG this is the emulated boot. Floor: `node -e 0` (only for the ratio as a multiple of it).',
  'start-path-hello':
    "From the agent's HELLO to the Hello reply on stdout: the root overlay and volume mounts. Floor: `node -e 0`.",
  'start-path-exec':
    'From the Hello reply to the exit event of the first RunProcess (`/bin/true`). Floor: `node -e 0`.',
  'start-path-cold':
    'The whole cold start through runtime-path: `deploy` wall time + `start` spawn → first exec done (the phases above). Floor: the bare VM boot (floor VM: the same QEMU settings booting a trivial init that reboots at once, spawn to exit) plus two `node -e 0`, the two Node processes the contract requires; the bare VM alone is the second floor.',
  'start-path-pagecold':
    'One cold start as `start-path-cold`, after `sync; echo 3 > /proc/sys/vm/drop_caches` (every file, Node included, read from disk). Floor: the bare VM boot and two `node -e 0`, each also after drop_caches.',
  'idle-host-mem-1':
    "The `idle-mem-1` activity's PSS less the guest RAM mapping (the memfd QEMU and virtiofsd share, which the guest fills as it likes): what the runtime, QEMU and virtiofsd cost the host themselves. Floor: a bare QEMU (the idle floor VM, less its guest RAM) plus an idle `node` (`node -e 0` ends before it can be read).",
  'cli-version':
    'Wall time of `node bin/ya-runtime-vm --version` (Node start + loading the CLI modules). Floor: `node -e 0`.',
  'deploy-100mib':
    '`deploy` of an image holding 100 MiB of random bytes into a fresh workdir (metadata read, deployment planned, disks created). Floor: `cat image > /dev/null`.',
};

function meaning(id: string): string {
  const before = /-before$/.test(id);
  if (before)
    return `As \`${id.replace(/-before$/, '')}\`, for the older build given with \`--before\`, measured in the same rounds.`;
  if (/^many-\d+$/.test(id))
    return 'N activities of 0.5 GiB at once, each through runtime-path in service mode: all deployed, all started with their Hello sent at once, `/bin/true` in each, shut down; fails when anything is left behind (a process naming a workdir, a socket in run/). One run; the 2 s idle wait and the memory readings are not counted. Floor: N floor VMs booted at once, spawn to exit.';
  if (/^many-\d+-mem$/.test(id))
    return 'The same activities idle after their command: total PSS over every process naming a workdir (runtime, QEMU, virtiofsd), with the part less guest RAM in the breakdown.';
  return MEANING[id] ?? MEANING[id.replace(/^9p-/, 'virtiofs-')]?.replace('virtio-fs', '9p') ?? '';
}

/** Start path rows "before -> after" when the run measured an older build beside this one (`--before DIR`). */
function startPathBeforeAfter(r: BenchResults): string[] {
  const rows: string[] = [];
  for (const f of r.figures) {
    if (!f.id.startsWith('start-path-') || f.id.endsWith('-before')) continue;
    const b = r.figures.find((x) => x.id === `${f.id}-before`);
    if (!b) continue;
    const gain = b.stats.median - f.stats.median;
    rows.push(
      `| \`${f.id}\` | ${fmt(b.stats.median, 'ms')} (${ratioText(b)}) | ${fmt(f.stats.median, 'ms')} (${ratioText(f)}) | ${gain < 0 ? '−' : ''}${fmt(Math.abs(gain), 'ms')} |`,
    );
  }
  return rows;
}

const TARGETS: { id: string; text: string }[] = [
  { id: 'cold-start', text: 'cold start within 1.25x of its floor' },
  { id: 'start-path-deploy', text: '`deploy` within 1.3x of `node -e 0` (runtime-path)' },
  { id: 'start-path-qemu', text: '`start` spawn → QEMU spawned within 1.3x of `node -e 0`' },
  { id: 'start-path-cold', text: 'cold start within 1.25x of bare VM boot + 2 x `node -e 0`' },
  { id: 'idle-host-mem-1', text: 'idle host memory less guest RAM within 1.3x of bare QEMU + node' },
  { id: 'exec-rtt', text: 'exec round trip p50 within 2x of the in-guest fork+exec' },
  { id: 'stdout-stream', text: 'stdout streaming at least 50 % of the in-guest pipe' },
  { id: 'virtiofs-write', text: 'virtio-fs sequential write at least 50 % of the guest tmpfs' },
  { id: 'virtiofs-read', text: 'virtio-fs sequential read at least 50 % of the guest tmpfs' },
];

/** Per-phase gains against the cold start's, when the run measured the older build too. */
function gainsProse(r: BenchResults): string[] {
  const med = (id: string): number | undefined => r.figures.find((f) => f.id === id)?.stats.median;
  const gain = (id: string): number | undefined => {
    const a = med(id);
    const b = med(`${id}-before`);
    return a === undefined || b === undefined ? undefined : b - a;
  };
  const d = gain('start-path-deploy');
  const q = gain('start-path-qemu');
  const c = gain('start-path-cold');
  if (d === undefined || q === undefined || c === undefined) return [];
  const guest = ['start-path-agent', 'start-path-hello', 'start-path-exec'].map(gain);
  const guestText = guest.map((g) => (g === undefined ? '?' : `${g >= 0 ? '-' : '+'}${fmt(Math.abs(g), 'ms')}`));
  return [
    '',
    `Gains against the older build in this run (medians): \`deploy\` ${fmt(d, 'ms')} ms and \`start\` → QEMU ${fmt(q, 'ms')} ms, ` +
      `${fmt(d + q, 'ms')} ms together; the cold start dropped by ${fmt(c, 'ms')} ms. ` +
      `The guest phases after QEMU's spawn moved by ${guestText.join(', ')} ms (agent, Hello, first exec): mostly the TCG boot's swing, ` +
      'and in part the service and control modules, which now load while the guest boots and on these two busy cores compete with the vCPU thread ' +
      '(on a host with idle cores, as under KVM, that load overlaps the boot). Only the cold start drop is claimed as the gain.',
  ];
}

/** What the start path figures of this run say against their targets, and why a miss is a miss. */
function startPathProse(r: BenchResults): string[] {
  const get = (id: string): Figure | undefined => r.figures.find((f) => f.id === id);
  const deploy = get('start-path-deploy');
  const qemu = get('start-path-qemu');
  const cold = get('start-path-cold');
  const mem = get('idle-host-mem-1');
  if (!deploy || !qemu || !cold) return [];
  const st = (f: Figure | undefined): string =>
    f?.target ? `${ratioText(f)}, target ${f.target.met ? 'met' : 'missed'}` : f ? ratioText(f) : 'not measured';
  return [
    `Start path in this run (issue 16): \`deploy\` ${fmt(deploy.stats.median, 'ms')} ms (${st(deploy)}), \`start\` spawn → QEMU ${fmt(qemu.stats.median, 'ms')} ms (${st(qemu)}), ` +
      `cold start ${fmt(cold.stats.median, 'ms')} ms against bare VM + 2 node (${st(cold)})${mem ? `, idle host memory less guest RAM ${fmt(mem.stats.median, 'MiB')} MiB (${st(mem)})` : ''}. ` +
      'What is left above `node -e 0` is mostly loading our own code, which Node 20 compiles on every start: the main chunk (the CLI and pino, ~150 KB), ' +
      'for `deploy` zod/mini and the deployment modules (~100 KB) plus mkfs.ext4 (~5 ms of CPU and its fsync), for `start` the VM, guest and network layers ' +
      "with zod (~200 KB), then virtiofsd's socket before QEMU may start. Taken off the path: commander for `deploy`/`start`, execa (a 250 KB chunk) " +
      'from `deploy` and from the spawn of QEMU and virtiofsd, `qemu-img` (the sparse file is made in process), ICU (`localeCompare` in the plan), ' +
      "pino's transport worker, the kernel hash and the virtiofsd `--help`/`--version` spawns on every start (probe cache), the 32 MiB of journal zeros per GiB disk, " +
      'and the service/control modules, now loaded while the guest boots; the boot begins before the Hello that asks for it. ' +
      'Under TCG the guest boot (QEMU spawned → agent ready) is most of the cold start and swings by seconds on this shared machine, so the cold start ' +
      'ratio moves with it; on a KVM host the host-side phases would be most of what a requestor waits for. ' +
      'Idle host memory misses its bound by the runtime (Node with our modules loaded: about twice an idle `node`) and by QEMU, which under TCG ' +
      'keeps a translation cache that grows with the guest code our init and agent run (the bare VM runs a trivial init); see the breakdown.',
    ...gainsProse(r),
    '',
    'A V8 startup snapshot of the CLI (`node --snapshot-blob B --build-snapshot`, one CommonJS build of the whole CLI, 6 MB blob) was tried and not kept: ' +
      'on 2026-12-02, 15 alternating runs, `deploy` took 144 ms of CPU against 149 ms for the ES module bundle (83 ms for `node -e 0`), ' +
      'and its wall time was no better (the blob is read and deserialized on every start); `--version` gained ~30 ms. ' +
      'It would need a shell launcher (the `runtime-path` cannot pass Node options through `#!/usr/bin/env node`) and one blob per Node version.',
    '',
  ];
}

export function renderReport(r: BenchResults): string {
  const m = r.machine;
  const L: string[] = [];
  L.push('# Benchmarks', '');
  L.push(
    '<!-- Generated by bench/report.ts from bench/results/*.json (`npm run bench`). Do not edit by hand: edit bench/report.ts. -->',
    '',
  );
  L.push(
    `Latest run: ${r.date}${r.quick ? ' (`--quick`: fewer iterations)' : ''}, ${r.durationS} s. Every figure stands beside its floor, measured in the same run on the same machine; ` +
      'the ratio figure/floor is the headline (for times: how many times the floor; for throughputs: the share of the floor reached). Speed is reported here, never asserted in tests.',
    '',
  );
  L.push(
    'Run it: `npm run bench` (full, ~10 min on 2 cores) or `npm run bench -- --quick` (~3 min); `node dist/bench/run.js --only cold,exec` for some scenarios; `node dist/bench/report.js` regenerates this page from the newest results file.',
    '',
  );
  L.push('## Machine', '');
  L.push('| | |', '|---|---|');
  L.push(`| CPU | ${m.cpuModel}, ${m.cores} cores |`);
  L.push(`| memory | ${m.memGiB} GiB |`);
  L.push(`| host kernel / OS | ${m.kernel} / ${m.os} |`);
  L.push(`| QEMU | ${m.qemu} |`);
  L.push(`| Node | ${m.node} |`);
  L.push(`| accelerator | **${r.accel.accel.toUpperCase()}** (${r.accel.reason}) |`);
  L.push(`| guest | kernel ${r.guest.kernelRelease}, guest build ${r.guest.hash} (${r.guest.dir}) |`);
  L.push(
    `| activity | ${r.deployment.cpuCores} vCPU, ${r.deployment.memGiB} GiB RAM, ${r.deployment.storageGiB} GiB storage; busybox bench image (lzo) |`,
  );
  L.push(`| load average at start | ${m.loadAvgAtStart.join(' ')} (the cores are shared) |`, '');
  if (r.accel.accel === 'tcg')
    L.push(
      'All guest-side figures are under TCG (software emulation): absolute times are many times those under KVM.',
      '',
    );
  L.push('## Results', '');
  L.push(
    '| figure | unit | median | p90 | min | max | floor (median) | ratio | target |',
    '|---|---|--:|--:|--:|--:|--:|--:|---|',
  );
  for (const f of r.figures) {
    L.push(
      `| ${f.title} | ${f.unit} | ${fmt(f.stats.median, f.unit)} | ${fmt(f.stats.p90, f.unit)} | ${fmt(f.stats.min, f.unit)} | ${fmt(f.stats.max, f.unit)} | ` +
        `${f.floors[0] ? fmt(f.floors[0].stats.median, f.unit) : '–'} | **${ratioText(f)}** | ${targetText(f)} |`,
    );
  }
  L.push('');
  const extraFloors = r.figures.filter((f) => f.floors.length > 0);
  if (extraFloors.length) {
    L.push('### Floors', '');
    L.push('| figure | floor | median | p90 | p99 | min | max | n |', '|---|---|--:|--:|--:|--:|--:|--:|');
    for (const f of extraFloors) {
      for (const fl of f.floors) {
        const s = fl.stats;
        L.push(
          `| ${f.id} | ${fl.label} | ${fmt(s.median, f.unit)} | ${fmt(s.p90, f.unit)} | ${fmt(s.p99, f.unit)} | ${fmt(s.min, f.unit)} | ${fmt(s.max, f.unit)} | ${s.n} |`,
        );
      }
    }
    L.push('');
  }
  const exec = r.figures.find((f) => f.id === 'exec-rtt');
  if (exec) {
    L.push(
      `Exec round trip: p50 ${fmt(exec.stats.median, 'ms')} ms, p99 ${fmt(exec.stats.p99, 'ms')} ms over ${exec.stats.n} runs` +
        (exec.floors[0]
          ? `; in-guest floor p50 ${fmt(exec.floors[0].stats.median, 'ms')} ms, p99 ${fmt(exec.floors[0].stats.p99, 'ms')} ms.`
          : '.'),
      '',
    );
  }
  for (const f of r.figures.filter((x) => x.breakdown?.length)) {
    L.push(`### ${f.title}: breakdown`, '');
    L.push(
      `| ${['cold-start', 'start-path-cold', 'start-path-pagecold'].includes(f.id) ? 'phase (ms since deploy started)' : 'part'} | median | min | max |`,
      '|---|--:|--:|--:|',
    );
    for (const p of f.breakdown!)
      L.push(
        `| ${p.name} | ${fmt(p.stats.median, f.unit === 'MiB' ? 'MiB' : 'ms')} | ${fmt(p.stats.min, f.unit === 'MiB' ? 'MiB' : 'ms')} | ${fmt(p.stats.max, f.unit === 'MiB' ? 'MiB' : 'ms')} |`,
      );
    L.push('');
  }
  L.push('## Targets', '');
  L.push('| target | status |', '|---|---|');
  for (const t of TARGETS) {
    const f = r.figures.find((x) => x.id === t.id);
    const status = !f
      ? 'not measured in this run'
      : f.target
        ? `${f.target.met ? '**met**' : '**not met**'}: ${ratioText(f)}`
        : 'no floor measured';
    L.push(`| ${t.text} | ${status} |`);
  }
  L.push('');
  L.push('## What each figure and floor means', '');
  for (const f of r.figures) {
    L.push(
      `* **${f.title}** (\`${f.id}\`): ${meaning(f.id)}${f.notes?.length ? ` Notes: ${f.notes.join('; ')}.` : ''}`,
    );
  }
  L.push('');
  const ba = startPathBeforeAfter(r);
  if (ba.length) {
    L.push('## Start path: before and after, same run', '');
    L.push(
      "The older build (`--before`) and this one, spawned through their runtime-path in alternating order in the same rounds, with `node -e 0` and the floor VM between them (medians; ratios to `node -e 0`, the cold start to bare VM + 2 node). A phase's gain is real only where the cold start dropped by as much: work moved from one phase into another gains nothing (negative: the phase took longer).",
      '',
      '| figure | before | after | gain (ms) |',
      '|---|--:|--:|--:|',
      ...ba,
      '',
    );
  }
  L.push('## Changes measured before and after', '');
  L.push(
    "Each row compares two full runs of `npm run bench` on this machine. The machine's load differed between runs " +
      "(other work shared the 2 cores during the first), so only each run's ratio to its own floor is comparable.",
    '',
  );
  L.push(
    '| change | figure | before (ratio) | after (ratio) |',
    '|---|---|--:|--:|',
    '| CLI imports each subcommand module only when it runs (`src/cli/main.ts`) | `--version` | 802 ms (4.91x) | 231 ms (1.86x) |',
    '| same | cold start (includes the `deploy` process) | 3444 ms (2.20x) | 1992 ms (1.91x) |',
    '| same | `deploy` of a 101 MiB image | 1351 ms (18.1x) | 450 ms (13.6x) |',
    '| guest kernel without VT, input, serio, HID (`scripts/guest-kernel.config`) | cold start: QEMU spawned → first console byte | 1227 ms | 1152 ms |',
    '| `tsc=reliable` on the kernel command line (tried, not kept) | floor boot, 6 alternating pairs | 1007 ms | 1007 ms |',
    '| init splices output from the process pipe into the port (`init/src/procs.c`, `port.c`) | stdout streaming 256 MiB | 63 MB/s (42 %) | 100 MB/s (64 %) |',
    '| CLI bundled by esbuild (`scripts/bundle.mjs`), zod/mini for zod classic (`src/schema.ts`), every virtiofsd started at once; 2 alternating A/B pairs, `--only cold,node` | cold start with `start` spawned as the ExeUnit does | 2784 / 2373 ms (2.36x / 2.28x) | 1971 / 1901 ms (1.93x / 1.87x) |',
    '| same | `deploy` of a 101 MiB image | 460 / 488 ms (14.1x / 14.1x) | 333 / 299 ms (13.2x / 12.3x) |',
    '| init splices through a private pipe, guest kernel patched (`scripts/kernel-patches/`); `--only stream`, 2026-12-01 | stdout streaming 256 MiB | 72 MB/s (75 %) | 58 MB/s (74 %) |',
    '| same | stdout streaming, 300000 lines one write(2) each (`chatter`) | not measurable: the guest kernel crashed in PID 1 during the run | 3.19 MB/s (156 %) |',
    '| Start path (issue 16): `deploy`/`start` without commander, execa, qemu-img, ICU, pino transports; probe cache by stat; boot before the Hello, service loaded while QEMU boots; `--before` ddd5fb2 in the same run, 15 alternating rounds, load average ~10, 2026-12-02 | `deploy` via runtime-path | 448 ms (2.26x `node -e 0`) | 359 ms (1.82x) |',
    '| same | `start` spawn → QEMU spawned | 529 ms (2.68x) | 365 ms (1.85x) |',
    '| same | cold start via runtime-path (floor: bare VM + 2 x `node -e 0`) | 3811 ms (1.46x) | 3597 ms (1.38x) |',
    '',
  );
  L.push(
    'Streaming sat at the 50 % line (54 % and 42 % in two full runs) while init copied each byte through user space into ' +
      'the port (the guest driver copies at most 32 KiB per port write); a 16x larger credit window measured the same. Splicing ' +
      "the pipe's pages into the port removed that copy.",
    '',
  );
  L.push(
    'Cold start (`cold-start`) misses its 1.25x target, and cannot meet it on this machine as the contract stands: its floor is a bare ' +
      'QEMU boot, while the figure holds two Node processes that the ExeUnit spawns one after the other (`deploy`, then `start`). ' +
      'The start path figures (`start-path-*`) therefore measure against `node -e 0` and count two of them in the cold start floor. ' +
      'Since 2026-11-27 07:00 UTC the figure spawns `start` as the ExeUnit does; rows before that booted inside the bench process.',
    '',
  );
  L.push(...startPathProse(r));
  L.push(
    'Exec round trip sits close to its 2x bound on this shared 2-core machine. Measured block-wise (all round trips, then ' +
      "all floor samples), its ratio swung from 1.6x to 2.5x between runs, because load from the machine's neighbours comes in " +
      "bursts and weighs more on the host-side part (Node, QEMU's I/O thread) than on the in-guest floor. Since 2026-11-27 " +
      '07:35 UTC the two alternate in rounds of 10; four runs since then gave 1.85x, 1.86x, 1.90x and 1.91x.',
    '',
  );
  L.push('## Not measured', '');
  if (r.skipped.length === 0) L.push('Everything listed above was measured in this run.');
  for (const s of r.skipped) L.push(`* ${s.title} (\`${s.id}\`): ${s.why}`);
  L.push('');
  L.push('## KVM', '');
  L.push(
    '**No working KVM was available.** The build machines expose a paravirtual `/dev/kvm` (`kvm_pvm`) on which ordinary guests hang, so every figure above is TCG. ' +
      'On 2026-11-27 the kit in `bench/kvm/` (our QEMU + libraries + guest, driven by `bench/kvm/measure.py`) ran on a lent 16-core Intel Xeon machine ' +
      '(`bash bench/kvm/run-on-device.sh`; raw output in `bench/kvm/results/`). Its `/dev/kvm` opened read-write and answered KVM_GET_API_VERSION, ' +
      'but the CPU flags show no `vmx` (a paravirtual KVM again) and the floor boot under `-accel kvm` hung until the 20 s bound: exactly the case the ' +
      'accelerator probe (`src/vm/accel-probe.ts`) detects before falling back to TCG. The same run under TCG on that idle 16-core machine:',
    '',
  );
  L.push(
    '| figure | TCG, lent 16-core machine (idle) |',
    '|---|--:|',
    '| floor: QEMU exec → exit, trivial init | 1.12 s |',
    '| QEMU exec → agent HELLO | 1.35 s |',
    '| QEMU exec → first `/bin/true` exited | 1.48 s (1.32x the floor) |',
    '| exec round trip `/bin/true`, p50 / p99 | 5.6 / 6.6 ms |',
    '| stdout streaming, `dd bs=1M` 32 MiB | 63.9 MB/s |',
    '| SHUTDOWN → QEMU exit | 17 ms |',
    '',
  );
  L.push(
    'A second lent machine, an NVIDIA H100 host, checked on 2026-11-27 at 06:34 UTC: "Intel(R) Xeon(R) Processor", CPU flags ' +
      '`hypervisor` but neither `vmx` nor `svm`, `/dev/kvm` present with the `kvm` and `kvm_pvm` modules loaded: the same paravirtual ' +
      'KVM, so the kit was not run there (`bench/kvm/results/h100-facts.txt`).',
    '',
  );
  L.push(
    'The start path breakdown of issue 16 (`start-path-*`) has no KVM run: no device machine was lent to that task (2026-12-02).',
    '',
  );
  L.push('Run `npm run bench` (or the kit) on a host with working KVM and put that table here.', '');
  return L.join('\n');
}

export async function writeReport(r: BenchResults, file = REPORT_PATH): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, renderReport(r));
  return file;
}

async function newestResults(): Promise<string> {
  const files = (await fs.readdir(RESULTS_DIR)).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no results in ${RESULTS_DIR}: run npm run bench first`);
  return path.join(RESULTS_DIR, files[files.length - 1]!);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  (async () => {
    const file = process.argv[2] ?? (await newestResults());
    const r = JSON.parse(await fs.readFile(file, 'utf8')) as BenchResults;
    process.stdout.write(`${textTable(r)}\n`);
    process.stderr.write(`report: ${await writeReport(r)} from ${file}\n`);
  })().catch((err: unknown) => {
    process.stderr.write(`report: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
