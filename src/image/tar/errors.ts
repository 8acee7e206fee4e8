import { RuntimeError } from '../../errors.js';

/** Codes of TarFormatError: the tar stream itself is malformed or uses a feature this codec does not support. */
export const TAR_ERROR_CODES = ['TAR_CHECKSUM', 'TAR_TRUNCATED', 'TAR_BAD_FIELD', 'TAR_UNSUPPORTED_TYPE'] as const;
export type TarErrorCode = (typeof TAR_ERROR_CODES)[number];

/**
 * A tar archive (an image layer, a `docker save` file, ...) that cannot be read or an entry that cannot be written.
 * The message is one line that names the archive (`what`), the member path when known and the byte offset.
 */
export class TarFormatError extends RuntimeError {
  constructor(code: TarErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, reply: 'bad-request' });
  }
}
