/**
 * `--volume-override` (docs/yagna-contract.md, section 2.3): a JSON object `{"<guest path>": <mount>}` with mount
 * one of `{"host":{}}`, `{"ram":{"size":S}}`, `{"storage":{"size":S,"preallocate":S?,"errors":"<ext4 errors=>"?}}`.
 * Validated field by field; every rejection names the guest path and the fault.
 */
import * as z from '../schema.js';
import { DeploymentError } from './errors.js';
import { guestPathFault } from '../image/guest-path.js';
import { parseSize } from './sizes.js';

export type MountOverride =
  | { kind: 'host' }
  | { kind: 'ram'; sizeBytes: number }
  | { kind: 'storage'; sizeBytes: number; preallocateBytes?: number; errors?: string };

const sizeInput = z.union([z.number(), z.string()]);
const mountSchema = z.union([
  z.strictObject({ host: z.strictObject({}) }),
  z.strictObject({ ram: z.strictObject({ size: sizeInput }) }),
  z.strictObject({
    storage: z.strictObject({
      size: sizeInput,
      preallocate: z.optional(sizeInput),
      errors: z.optional(z.enum(['continue', 'remount-ro', 'panic'])),
    }),
  }),
]);

function size(guest: string, field: string, v: unknown): number {
  const n = parseSize(v);
  if (n === undefined) {
    throw new DeploymentError(
      'BAD_OVERRIDE_SIZE',
      `--volume-override: ${guest}: ${field} ${JSON.stringify(v)} is not a size (e.g. 1073741824, "1gi", "512 MiB", "10.7 GB")`,
    );
  }
  return n;
}

export function parseVolumeOverride(text: string): Map<string, MountOverride> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DeploymentError(
      'BAD_OVERRIDE_JSON',
      `--volume-override: not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new DeploymentError('BAD_OVERRIDE_JSON', '--volume-override: expected a JSON object {"<guest path>": {...}}');
  }
  const out = new Map<string, MountOverride>();
  for (const [guest, value] of Object.entries(json)) {
    const fault = guestPathFault(guest);
    if (fault)
      throw new DeploymentError('BAD_GUEST_PATH', `--volume-override: guest path ${JSON.stringify(guest)} ${fault}`);
    const res = mountSchema.safeParse(value);
    if (!res.success) {
      throw new DeploymentError(
        'BAD_OVERRIDE_MOUNT',
        `--volume-override: ${guest}: expected {"host":{}}, {"ram":{"size":S}} or {"storage":{"size":S,"preallocate":S?,"errors":"continue|remount-ro|panic"?}}, got ${JSON.stringify(value)}`,
      );
    }
    const m = res.data;
    if ('host' in m) {
      if (guest === '/')
        throw new DeploymentError('HOST_ROOT', '--volume-override: a host volume cannot be mounted on /');
      out.set(guest, { kind: 'host' });
    } else if ('ram' in m) {
      out.set(guest, { kind: 'ram', sizeBytes: size(guest, 'ram.size', m.ram.size) });
    } else {
      const s = m.storage;
      const sizeBytes = size(guest, 'storage.size', s.size);
      const pre = s.preallocate === undefined ? undefined : size(guest, 'storage.preallocate', s.preallocate);
      if (pre !== undefined && pre > sizeBytes) {
        throw new DeploymentError(
          'BAD_OVERRIDE_SIZE',
          `--volume-override: ${guest}: preallocate (${pre}) is larger than size (${sizeBytes})`,
        );
      }
      out.set(guest, {
        kind: 'storage',
        sizeBytes,
        ...(pre !== undefined ? { preallocateBytes: pre } : {}),
        ...(s.errors ? { errors: s.errors } : {}),
      });
    }
  }
  return out;
}
