/**
 * Where the benchmarks find things and what they run on: the repo root (found from this compiled file), the CLI
 * launcher, the cache for bench artefacts (helpers, floor initramfs, bench images; same cache root as the runtime),
 * and a description of the machine for the report.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultCacheDir } from '../../src/cache-dir.js';

import { REPO_ROOT, CLI } from '../../test/helpers/paths.js';

export { REPO_ROOT, CLI };
export const BENCH_SRC = path.join(REPO_ROOT, 'bench');
export const RESULTS_DIR = path.join(BENCH_SRC, 'results');
export const REPORT_PATH = path.join(REPO_ROOT, 'docs', 'benchmarks.md');
export const BENCH_CACHE = path.join(defaultCacheDir(), 'bench');

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memGiB: number;
  kernel: string;
  os: string;
  node: string;
  qemu: string;
  loadAvgAtStart: number[];
}

export function machineInfo(qemuVersion: string): MachineInfo {
  let osName = os.type();
  try {
    const rel = fs.readFileSync('/etc/os-release', 'utf8');
    osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(rel)?.[1] ?? osName;
  } catch {
    // not Linux-like; keep os.type()
  }
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: os.release(),
    os: osName,
    node: process.version,
    qemu: qemuVersion,
    loadAvgAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
