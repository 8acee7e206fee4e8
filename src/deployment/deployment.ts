/**
 * deployment.json: everything `start` needs, written by `deploy` into the activity workdir.
 * Sizes are exact byte counts (never the ExeUnit's lossy strings). Paths are absolute.
 * Read back through `parseDeployment`, which validates every field and rejects unknown ones.
 */
import * as z from '../schema.js';
import { imageConfigSchema } from '../image/image-config.js';

const guestPath = z.string().check(z.regex(/^\//, 'must be an absolute path'));
const bytes = z.int().check(z.nonnegative());

/**
 * Set on volumes at the image's own VOLUME paths: at boot the guest copies the image's files there into the volume
 * while it is empty (Docker's behaviour for a new volume; docs/image-import.md, "VOLUME content").
 */
const seedFromImage = z.optional(z.literal(true));

export const volumeSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('host'),
    guestPath,
    /** Directory name under the workdir ("vol-<id>"), also the `name` in the deploy output. */
    name: z.string(),
    hostPath: z.string(),
    /** virtio-fs / 9p mount tag. */
    tag: z.string(),
    seedFromImage,
  }),
  z.strictObject({ kind: z.literal('ram'), guestPath, sizeBytes: bytes, seedFromImage }),
  z.strictObject({
    kind: z.literal('storage'),
    guestPath,
    sizeBytes: bytes,
    diskPath: z.string(),
    /** virtio-blk serial the guest finds the disk by. */
    serial: z.string(),
    errors: z.optional(z.string()),
    preallocateBytes: z.optional(bytes),
    seedFromImage,
  }),
]);

export const deploymentSchema = z.strictObject({
  version: z.literal(1),
  image: z.strictObject({ path: z.string(), sha3: z.optional(z.string()), size: bytes }),
  config: imageConfigSchema,
  resources: z.strictObject({ cpuCores: z.int().check(z.positive()), memBytes: bytes, storageBytes: bytes }),
  hostname: z.string(),
  rootUpper: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('disk'), path: z.string(), serial: z.string(), sizeBytes: bytes }),
    z.strictObject({ kind: z.literal('tmpfs'), sizeBytes: bytes }),
  ]),
  volumes: z.array(volumeSchema),
});

export type Deployment = z.infer<typeof deploymentSchema>;
export type Volume = z.infer<typeof volumeSchema>;
