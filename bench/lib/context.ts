/** What every scenario gets from bench/run.ts: the mode, the artefacts, the guest files, the VM settings. */
import type { Accel } from '../../src/vm/qemu-args.js';
import type { GuestFiles } from '../../src/vm/guest-files.js';
import type { Artefacts } from './artefacts.js';

export interface BenchContext {
  quick: boolean;
  art: Artefacts;
  guest: GuestFiles;
  /** The accelerator Activity.boot picked (probe), used for every floor VM too. */
  accel: Accel;
  cpus: number;
  memBytes: number;
  /** Global options for `deploy` (resources), the same for every activity of the run. */
  deployGlobals: string[];
  /** `--before DIR`: a built checkout of an older commit, measured beside this one (bench/start-path.ts). */
  beforeRoot?: string;
  /** Progress line on stderr. */
  say(msg: string): void;
}

/** Iterations: `quick` or full, plus the number of discarded warm-up runs. */
export function iterations(ctx: BenchContext, quick: number, full: number): number {
  return ctx.quick ? quick : full;
}
