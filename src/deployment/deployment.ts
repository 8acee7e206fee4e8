/**
 * deployment.json: everything `start` needs, written by `deploy` into the activity workdir.
 * Sizes are exact byte counts (never the ExeUnit's lossy strings). Paths are absolute.
 * Read back through `parseDeployment`, which validates every field and rejects unknown ones.
 */
import { z } from 'zod';

const guestPath = z.string().regex(/^\//, 'must be an absolute path');
const bytes = z.number().int().nonnegative();

export const imageConfigSchema = z
  .object({
    env: z.array(z.string()),
    entrypoint: z.array(z.string()),
    cmd: z.array(z.string()),
    workingDir: z.string(),
    user: z.string(),
  })
  .strict();

export const volumeSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('host'),
      guestPath,
      /** Directory name under the workdir ("vol-<id>"), also the `name` in the deploy output. */
      name: z.string(),
      hostPath: z.string(),
      /** virtio-fs / 9p mount tag. */
      tag: z.string(),
    })
    .strict(),
  z.object({ kind: z.literal('ram'), guestPath, sizeBytes: bytes }).strict(),
  z
    .object({
      kind: z.literal('storage'),
      guestPath,
      sizeBytes: bytes,
      diskPath: z.string(),
      /** virtio-blk serial the guest finds the disk by. */
      serial: z.string(),
      errors: z.string().optional(),
      preallocateBytes: bytes.optional(),
    })
    .strict(),
]);

export const deploymentSchema = z
  .object({
    version: z.literal(1),
    image: z.object({ path: z.string(), sha3: z.string().optional(), size: bytes }).strict(),
    config: imageConfigSchema,
    resources: z.object({ cpuCores: z.number().int().positive(), memBytes: bytes, storageBytes: bytes }).strict(),
    hostname: z.string(),
    rootUpper: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('disk'), path: z.string(), serial: z.string(), sizeBytes: bytes }).strict(),
      z.object({ kind: z.literal('tmpfs'), sizeBytes: bytes }).strict(),
    ]),
    volumes: z.array(volumeSchema),
  })
  .strict();

export type Deployment = z.infer<typeof deploymentSchema>;
export type Volume = z.infer<typeof volumeSchema>;
export type ImageConfig = z.infer<typeof imageConfigSchema>;
