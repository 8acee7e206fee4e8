import { RuntimeError } from '../errors.js';

/** Codes of ImageError (exit code 3). */
export const IMAGE_ERROR_CODES = [
  'IMAGE_UNREADABLE',
  'IMAGE_NOT_FILE',
  'IMAGE_TOO_SHORT',
  'IMAGE_NOT_SQUASHFS',
  'IMAGE_BAD_LENGTH',
  'IMAGE_LENGTH_EXCEEDS_FILE',
  'IMAGE_METADATA_TOO_LARGE',
  'IMAGE_CRC_MISMATCH',
  'IMAGE_BAD_JSON',
  'IMAGE_BAD_METADATA',
] as const;
export type ImageErrorCode = (typeof IMAGE_ERROR_CODES)[number];

/** Codes of PackError (exit code 3). */
export const PACK_ERROR_CODES = [
  'PACK_OUTPUT_INSIDE',
  'PACK_BAD_ENV',
  'PACK_BAD_PATH',
  'PACK_MKSQUASHFS',
  'PACK_NOT_AN_IMAGE',
  'PACK_FETCH_FAILED',
  'PACK_PLATFORM',
  'PACK_BAD_MANIFEST',
  'PACK_MEDIA_TYPE',
  'PACK_MISSING_BLOB',
  'PACK_DIGEST_MISMATCH',
  'PACK_BAD_LAYER',
  'PACK_PATH_ESCAPE',
] as const;
export type PackErrorCode = (typeof PACK_ERROR_CODES)[number];

/** Codes of ImageUserError (exit code 5; reply bad-request). */
export const USER_ERROR_CODES = ['USER_NOT_FOUND', 'GROUP_NOT_FOUND', 'BAD_USER'] as const;
export type UserErrorCode = (typeof USER_ERROR_CODES)[number];

/** Codes of ImageToolError: a host tool the image layer needs is missing (exit code 5, not the image's fault). */
export const IMAGE_TOOL_ERROR_CODES = ['TOOL_MISSING'] as const;
export type ImageToolErrorCode = (typeof IMAGE_TOOL_ERROR_CODES)[number];

/** A .gvmi file that cannot be used; the message always names the file and the fault. */
export class ImageError extends RuntimeError {
  readonly file: string;
  constructor(code: ImageErrorCode, file: string, fault: string, options: { cause?: unknown } = {}) {
    super(code, `${file}: ${fault}`, { ...options, reply: 'bad-request' });
    this.file = file;
  }
}

export class PackError extends RuntimeError {
  constructor(code: PackErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, reply: 'bad-request' });
  }
}

/** A host tool the image layer runs (unsquashfs) is missing: the host's fault, so not an ImageError. */
export class ImageToolError extends RuntimeError {
  constructor(code: ImageToolErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The image `User` cannot be resolved against the image's /etc/passwd and /etc/group. */
export class ImageUserError extends RuntimeError {
  constructor(code: UserErrorCode, message: string) {
    super(code, message, { reply: 'bad-request' });
  }
}
