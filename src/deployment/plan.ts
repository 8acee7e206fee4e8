/**
 * Pure planning of a deployment: image volumes + `--volume-override` + resources → the deployment.json model.
 * No I/O here; deploy.ts creates what the plan names (folders, disk images) and writes the file.
 *
 * Rules: every image `Volumes` key is a host volume unless overridden; overrides add or replace; `ram`/`storage`
 * on `/` choose where the root filesystem's writable layer lives (default: an ext4 disk of `--storage-gib`).
 * Volume folder names and tags derive from the guest path, so re-running deploy yields the same layout. Volumes at
 * the image's own VOLUME paths are marked `seedFromImage` (whatever backs them).
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Deployment, Volume } from './deployment.js';
import type { ImageConfig } from '../image/image-config.js';
import { DeploymentError } from './errors.js';
import { guestPathFault } from '../image/guest-path.js';
import type { MountOverride } from './volume-override.js';

export const DEFAULTS = {
  cpuCores: 1,
  memBytes: 1024 ** 3,
  /** Sparse: costs nothing on the host until the guest writes. */
  storageBytes: 8 * 1024 ** 3,
} as const;
const MIN_MEM = 64 * 1024 ** 2;
/** Disk images are whole 512-byte sectors (qemu-img rounds up): plan the real size so re-deploys can reuse them. */
const sectors = (n: number): number => Math.ceil(n / 512) * 512;
const MIN_DISK = 8 * 1024 ** 2;

export interface PlanInput {
  workdir: string;
  image: { path: string; sha3?: string | undefined; size: number; config: ImageConfig; volumes: string[] };
  cpuCores?: number | undefined;
  memBytes?: number | undefined;
  storageBytes?: number | undefined;
  hostname?: string | undefined;
  overrides: Map<string, MountOverride>;
}

function id(guestPath: string): string {
  return createHash('sha256').update(guestPath).digest('hex').slice(0, 12);
}

export function planDeployment(input: PlanInput): Deployment {
  const cpuCores = input.cpuCores ?? DEFAULTS.cpuCores;
  const memBytes = input.memBytes ?? DEFAULTS.memBytes;
  const storageBytes = input.storageBytes ?? DEFAULTS.storageBytes;
  if (!Number.isInteger(cpuCores) || cpuCores < 1 || cpuCores > 255) {
    throw new DeploymentError('BAD_RESOURCES', `--cpu-cores ${cpuCores}: must be an integer from 1 to 255`);
  }
  if (memBytes < MIN_MEM)
    throw new DeploymentError('BAD_RESOURCES', `--mem-gib: ${memBytes} bytes is below the minimum of 64 MiB`);
  if (storageBytes < MIN_DISK)
    throw new DeploymentError('BAD_RESOURCES', `--storage-gib: ${storageBytes} bytes is below the minimum of 8 MiB`);
  const hostname = input.hostname ?? `golem-${createHash('sha256').update(input.workdir).digest('hex').slice(0, 8)}`;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(hostname)) {
    throw new DeploymentError('BAD_HOSTNAME', `--hostname ${JSON.stringify(hostname)}: not a valid host name`);
  }

  const mounts = new Map<string, MountOverride>();
  for (const v of input.image.volumes) {
    const fault = guestPathFault(v);
    if (fault) throw new DeploymentError('BAD_IMAGE_VOLUME', `image volume ${JSON.stringify(v)} ${fault}`);
    if (v === '/')
      throw new DeploymentError('HOST_ROOT', 'image declares a volume on /, which cannot be a host volume');
    mounts.set(v, { kind: 'host' });
  }
  for (const [k, m] of input.overrides) mounts.set(k, m);

  let rootUpper: Deployment['rootUpper'] = {
    kind: 'disk',
    path: path.join(input.workdir, 'disks', 'root-upper.img'),
    serial: 'upper-0',
    sizeBytes: sectors(storageBytes),
  };
  const root = mounts.get('/');
  if (root?.kind === 'ram') rootUpper = { kind: 'tmpfs', sizeBytes: root.sizeBytes };
  if (root?.kind === 'storage') rootUpper = { ...rootUpper, sizeBytes: sectors(root.sizeBytes) };
  mounts.delete('/');

  const imageVolumes = new Set(input.image.volumes);
  const volumes: Volume[] = [...mounts.keys()].sort(byDepth).map((guestPath): Volume => {
    const v = planVolume(guestPath, mounts.get(guestPath)!, input.workdir);
    return imageVolumes.has(guestPath) ? { ...v, seedFromImage: true } : v;
  });

  return {
    version: 1,
    image: { path: input.image.path, size: input.image.size, ...(input.image.sha3 ? { sha3: input.image.sha3 } : {}) },
    config: input.image.config,
    resources: { cpuCores, memBytes, storageBytes },
    hostname,
    rootUpper,
    volumes,
  };
}

/** What the ExeUnit reads from deploy's stdout (docs/yagna-contract.md, section 2.1). */
export function deployOutput(d: Deployment): {
  startMode: 'blocking';
  valid: { Ok: string };
  vols: { name: string; path: string }[];
} {
  const vols = d.volumes.flatMap((v) => (v.kind === 'host' ? [{ name: v.name, path: v.guestPath }] : []));
  return { startMode: 'blocking', valid: { Ok: '' }, vols };
}

function planVolume(guestPath: string, m: MountOverride, workdir: string): Volume {
  const h = id(guestPath);
  switch (m.kind) {
    case 'host':
      return {
        kind: 'host',
        guestPath,
        name: `vol-${h}`,
        hostPath: path.join(workdir, `vol-${h}`),
        tag: `vol-${h}`,
      };
    case 'ram':
      return { kind: 'ram', guestPath, sizeBytes: m.sizeBytes };
    case 'storage':
      if (m.sizeBytes < MIN_DISK) {
        throw new DeploymentError(
          'BAD_OVERRIDE_SIZE',
          `--volume-override: ${guestPath}: storage size ${m.sizeBytes} is below the minimum of 8 MiB`,
        );
      }
      return {
        kind: 'storage',
        guestPath,
        sizeBytes: sectors(m.sizeBytes),
        diskPath: path.join(workdir, 'disks', `storage-${h}.img`),
        serial: `st-${h}`,
        ...(m.errors ? { errors: m.errors } : {}),
        ...(m.preallocateBytes !== undefined ? { preallocateBytes: m.preallocateBytes } : {}),
      };
  }
}

/** Sort key so parents are mounted before children; then by code point, the same on every host (not
 * localeCompare: its first call loads ICU's collator, ~10 ms of `deploy`'s start path). */
function byDepth(a: string, b: string): number {
  const da = a === '/' ? 0 : a.split('/').length;
  const db = b === '/' ? 0 : b.split('/').length;
  return da - db || (a < b ? -1 : a > b ? 1 : 0);
}
