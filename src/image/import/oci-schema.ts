/**
 * The JSON documents of an image, as read from `docker save` archives and OCI image layouts (docs/image-import.md):
 * OCI index and manifest (and Docker's v2 equivalents), the image config, and `docker save`'s `manifest.json`.
 * Validated at the boundary; unknown fields are allowed, as the OCI spec requires.
 */
import * as z from '../../schema.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** Layer media types whose bytes are a tar, plain or compressed (the compression is sniffed from the bytes). */
export const LAYER_MEDIA_TYPES: readonly string[] = [
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
];

const digest = z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/, 'a sha256:<64 hex> digest'));

export const descriptorSchema = z.object({
  mediaType: z.optional(z.string()),
  digest,
  size: z.number(),
  platform: z.optional(z.object({ architecture: z.string(), os: z.string(), variant: z.optional(z.string()) })),
  annotations: z.optional(z.record(z.string(), z.string())),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const indexSchema = z.object({
  schemaVersion: z.number(),
  mediaType: z.optional(z.string()),
  manifests: z.array(descriptorSchema),
});
export type ImageIndex = z.infer<typeof indexSchema>;

export const manifestSchema = z.object({
  schemaVersion: z.number(),
  mediaType: z.optional(z.string()),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});
export type ImageManifest = z.infer<typeof manifestSchema>;

/** `docker save`'s manifest.json: one entry per image saved. */
export const dockerManifestSchema = z.array(
  z.object({
    Config: z.string(),
    RepoTags: z.optional(z.nullable(z.array(z.string()))),
    Layers: z.array(z.string()),
  }),
);

const stringMap = z.optional(z.nullable(z.record(z.string(), z.unknown())));
const strings = z.optional(z.nullable(z.array(z.string())));

/** The image config (OCI config.md; Docker's image JSON is the same shape for what we read). */
export const imageJsonSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  variant: z.optional(z.string()),
  config: z.optional(
    z.nullable(
      z.object({
        User: z.optional(z.string()),
        Env: strings,
        Entrypoint: strings,
        Cmd: strings,
        WorkingDir: z.optional(z.string()),
        Volumes: stringMap,
        ExposedPorts: stringMap,
        Labels: z.optional(z.nullable(z.record(z.string(), z.string()))),
      }),
    ),
  ),
  rootfs: z.optional(z.object({ type: z.optional(z.string()), diff_ids: z.optional(z.array(digest)) })),
});
export type ImageJson = z.infer<typeof imageJsonSchema>;
