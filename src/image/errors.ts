import { RuntimeError } from '../errors.js';

/** A .gvmi file that cannot be used; the message always names the file and the fault. */
export class ImageError extends RuntimeError {
  readonly file: string;
  constructor(code: string, file: string, fault: string, options: { cause?: unknown } = {}) {
    super(code, `${file}: ${fault}`, { ...options, reply: 'bad-request' });
    this.file = file;
  }
}

export class PackError extends RuntimeError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, reply: 'bad-request' });
  }
}
