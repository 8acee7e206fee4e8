/**
 * The shape of a bench run's results (bench/results/<date>.json) and the one way to build a figure from samples:
 * every figure carries its floors (measured in the same run), the ratio to the first floor, and its target.
 *
 * Ratio = figure median / first floor's median, for times (lower is better: "1.4x the floor") and throughputs
 * (higher is better: "0.62 = 62 % of the floor") alike. A target bounds that ratio: `max` for times, `min` for
 * throughputs.
 */
import type { MachineInfo } from './env.js';
import { summarize, type Stats } from './stats.js';

export type Better = 'lower' | 'higher';

export interface Floor {
  label: string;
  stats: Stats;
}

export interface Target {
  text: string;
  bound: 'max' | 'min';
  ratio: number;
  met: boolean;
}

export interface Phase {
  name: string;
  stats: Stats;
}

export interface Figure {
  id: string;
  title: string;
  unit: string;
  better: Better;
  stats: Stats;
  floors: Floor[];
  /** stats.median / floors[0].stats.median */
  ratio?: number;
  target?: Target;
  /** Breakdown (e.g. cold-start phases as ms since the start), when cheap to get. */
  breakdown?: Phase[];
  /** Extra facts worth a line in the report (bytes, settings, details of the floor). */
  notes?: string[];
}

export interface Skipped {
  id: string;
  title: string;
  why: string;
}

export interface BenchResults {
  schema: 1;
  date: string;
  quick: boolean;
  durationS: number;
  machine: MachineInfo;
  accel: { accel: string; reason: string };
  deployment: { cpuCores: number; memGiB: number; storageGiB: number };
  guest: { dir: string; kernelRelease: string; hash: string };
  figures: Figure[];
  skipped: Skipped[];
}

export interface FigureInput {
  id: string;
  title: string;
  unit: string;
  better: Better;
  samples: number[];
  floors?: { label: string; samples: number[] }[];
  target?: { text: string; bound: 'max' | 'min'; ratio: number };
  breakdown?: { name: string; samples: number[] }[];
  notes?: string[];
}

export function makeFigure(f: FigureInput): Figure {
  const stats = summarize(f.samples);
  const floors = (f.floors ?? [])
    .filter((fl) => fl.samples.length > 0)
    .map((fl) => ({ label: fl.label, stats: summarize(fl.samples) }));
  const fig: Figure = { id: f.id, title: f.title, unit: f.unit, better: f.better, stats, floors };
  const base = floors[0]?.stats.median;
  if (base !== undefined && base > 0 && Number.isFinite(stats.median)) {
    fig.ratio = stats.median / base;
    if (f.target) {
      const met = f.target.bound === 'max' ? fig.ratio <= f.target.ratio : fig.ratio >= f.target.ratio;
      fig.target = { ...f.target, met };
    }
  }
  if (f.breakdown)
    fig.breakdown = f.breakdown
      .filter((p) => p.samples.length > 0)
      .map((p) => ({ name: p.name, stats: summarize(p.samples) }));
  if (f.notes) fig.notes = f.notes;
  return fig;
}
