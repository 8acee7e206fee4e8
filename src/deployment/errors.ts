import { RuntimeError } from '../errors.js';

/** Bad deployment input (override JSON, sizes, guest paths) or a failure to lay out the workdir. */
export class DeploymentError extends RuntimeError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, reply: 'bad-request' });
  }
}
