/**
 * What an image says about how to run it: the part of its metadata (metadata.ts) the runtime uses, with defaults
 * applied. The image format owns it; deployment.json stores it as it is (deployment/deployment.ts).
 */
import * as z from '../schema.js';

export const imageConfigSchema = z.strictObject({
  env: z.array(z.string()),
  entrypoint: z.array(z.string()),
  cmd: z.array(z.string()),
  workingDir: z.string(),
  user: z.string(),
});

export type ImageConfig = z.infer<typeof imageConfigSchema>;
