/**
 * A runtime in service mode for VM tests, as the ExeUnit starts one: deployed into a provider-length workdir, then
 * `start` spawned with the ExeUnit's argv and driven by the independent client (exeunit-client.ts).
 */
import assert from 'node:assert/strict';
import { ExeUnitClient } from './exeunit-client.js';
import { deployTo, longWorkdir, removeTestDir, waitNoneAlive } from './vm.js';

export interface ServiceRuntime {
  client: ExeUnitClient;
  workdir: string;
  base: string;
}

/**
 * Resources of the offer (default: 2 vCPUs, 0.5 GiB, 2 GiB of storage). `extra` goes after the global options;
 * `beforeStart` runs between deploy and start (as the ExeUnit may fill a volume's folder then).
 */
export async function spawnRuntime(
  image: string,
  opts: {
    cpuCores?: number;
    memGib?: number;
    storageGib?: number;
    extra?: string[];
    beforeStart?: (workdir: string) => Promise<void>;
  } = {},
): Promise<ServiceRuntime> {
  const { workdir, base } = await longWorkdir();
  const resources = [
    '--cpu-cores',
    String(opts.cpuCores ?? 2),
    '--mem-gib',
    String(opts.memGib ?? 0.5),
    '--storage-gib',
    String(opts.storageGib ?? 2),
  ];
  await deployTo(workdir, image, resources);
  await opts.beforeStart?.(workdir);
  const client = ExeUnitClient.spawn({
    workdir,
    globalArgs: ['--workdir', workdir, '--task-package', image, ...resources, ...(opts.extra ?? [])],
  });
  return { client, workdir, base };
}

/** Test teardown: the runtime ended, nothing of its VM left, its folder removed (consoles checked), no violations. */
export async function finish({ client, workdir, base }: ServiceRuntime): Promise<void> {
  await client.dispose();
  const left = await waitNoneAlive(workdir, 5000);
  await removeTestDir(base);
  assert.deepEqual(left, [], 'no QEMU/virtiofsd outlives the runtime');
  assert.deepEqual(client.violations, [], 'no contract violations');
}
