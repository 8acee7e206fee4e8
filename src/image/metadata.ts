/**
 * The JSON metadata of a .gvmi: Docker's container config with PascalCase keys (docs/gvmi-format.md, section 3).
 * Any key may be missing, unknown keys are ignored, `null` means absent (Docker writes `"Cmd": null`). Wrong types
 * are rejected with the name of the field.
 */
import * as z from '../schema.js';
import type { ImageConfig } from './image-config.js';

const strings = z.nullish(z.array(z.string()));

export const metadataSchema = z.object({
  Env: strings,
  Cmd: strings,
  Entrypoint: strings,
  WorkingDir: z.nullish(z.string()),
  Volumes: z.nullish(z.record(z.string(), z.unknown())),
  User: z.nullish(z.string()),
  Labels: z.nullish(z.record(z.string(), z.string())),
  Hostname: z.nullish(z.string()),
});

export type ImageMetadata = z.infer<typeof metadataSchema>;

/** Validates parsed JSON; returns the fault as text (naming the field) or the metadata. */
export function validateMetadata(json: unknown): { ok: true; value: ImageMetadata } | { ok: false; fault: string } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, fault: 'metadata is not a JSON object' };
  }
  const res = metadataSchema.safeParse(json);
  if (res.success) return { ok: true, value: res.data };
  const issue = res.error.issues[0];
  const where = issue ? issue.path.map(String).join('.') : '?';
  return { ok: false, fault: `metadata field ${where}: ${issue?.message ?? 'invalid'}` };
}

export function imageConfig(meta: ImageMetadata): ImageConfig {
  return {
    env: meta.Env ?? [],
    entrypoint: meta.Entrypoint ?? [],
    cmd: meta.Cmd ?? [],
    workingDir: meta.WorkingDir || '/',
    user: meta.User ?? '',
  };
}

/** Guest paths of the image's volumes, in a stable order. */
export function imageVolumes(meta: ImageMetadata): string[] {
  return Object.keys(meta.Volumes ?? {}).sort();
}
