import { RuntimeError } from '../errors.js';

/** Codes of ImageUserError (exit code 5; reply bad-request). */
export const USER_ERROR_CODES = ['USER_NOT_FOUND', 'GROUP_NOT_FOUND', 'BAD_USER'] as const;
export type UserErrorCode = (typeof USER_ERROR_CODES)[number];

/** The image `User` cannot be resolved against the image's /etc/passwd and /etc/group. */
export class ImageUserError extends RuntimeError {
  constructor(code: UserErrorCode, message: string) {
    super(code, message, { reply: 'bad-request' });
  }
}
