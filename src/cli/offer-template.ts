/** `offer-template`: CPU facts from /proc/cpuinfo and the runtime's capabilities, as flattened offer properties. */
import fs from 'node:fs/promises';
import type { Context } from './context.js';
import { EXIT } from './exit-codes.js';
import { RUNTIME_CAPABILITIES } from '../capabilities.js';

export interface CpuFacts {
  vendor: string;
  brand: string;
  model: string;
  capabilities: string[];
}

/** Pure: the first processor block of /proc/cpuinfo → CPU facts. */
export function parseCpuinfo(text: string): CpuFacts {
  const first = text.split(/\n\s*\n/)[0] ?? '';
  const fields = new Map<string, string>();
  for (const line of first.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const flags = (fields.get('flags') ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((f) => f.toLowerCase());
  return {
    vendor: fields.get('vendor_id') ?? 'unknown',
    brand: fields.get('model name') ?? 'unknown',
    model: `Stepping ${fields.get('stepping') ?? '?'} Family ${fields.get('cpu family') ?? '?'} Model ${fields.get('model') ?? '?'}`,
    capabilities: [...new Set(flags)].sort(),
  };
}

export function offerTemplate(cpu: CpuFacts): { constraints: string; properties: Record<string, unknown> } {
  return {
    constraints: '',
    properties: {
      'golem.inf.cpu.vendor': cpu.vendor,
      'golem.inf.cpu.brand': cpu.brand,
      'golem.inf.cpu.model': cpu.model,
      'golem.inf.cpu.capabilities': cpu.capabilities,
      'golem.runtime.capabilities': [...RUNTIME_CAPABILITIES],
    },
  };
}

export async function offerTemplateCommand(ctx: Context): Promise<number> {
  const text = await fs.readFile('/proc/cpuinfo', 'utf8').catch((err: unknown) => {
    ctx.log.warn({ err }, 'cannot read /proc/cpuinfo');
    return '';
  });
  process.stdout.write(JSON.stringify(offerTemplate(parseCpuinfo(text))) + '\n');
  return EXIT.OK;
}
