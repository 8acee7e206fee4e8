/**
 * Reading one file out of an image's SquashFS (`unsquashfs -cat`), e.g. /etc/passwd to resolve the image's User.
 * unsquashfs reads the squashfs superblock at offset 0 and ignores the .gvmi trailer, so the .gvmi is passed as is.
 */
import { ImageToolError } from './errors.js';

export type ImageFileResult = { ok: true; text: string } | { ok: false; stderr: string };

/** `file` is relative to the image root (e.g. "etc/passwd"). A missing file is `ok: false` (unsquashfs's stderr);
 * a missing unsquashfs throws TOOL_MISSING, with `purpose` saying what it was needed for. */
export async function readImageFile(image: string, file: string, purpose: string): Promise<ImageFileResult> {
  const { execa } = await import('execa'); // loaded only here: not on the start path of images without a User
  const r = await execa('unsquashfs', ['-cat', image, file], { reject: false, timeout: 30_000, stdin: 'ignore' });
  if ((r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new ImageToolError('TOOL_MISSING', `unsquashfs not found (install squashfs-tools): needed to ${purpose}`);
  }
  return r.exitCode === 0 ? { ok: true, text: r.stdout } : { ok: false, stderr: r.stderr };
}
