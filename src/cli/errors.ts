/** Codes the CLI's own commands throw (exit codes: src/cli/exit-codes.ts). */
import { RuntimeError, type ReplyKind } from '../errors.js';

/** USAGE is UsageError's (globals.ts, exit code 2); the others are CliError's (exit code 5). */
export const CLI_ERROR_CODES = [
  'USAGE',
  'SELFTEST_FAILED',
  'SELFTEST_NO_BUSYBOX',
  'NO_ENTRYPOINT',
  'PLUGIN_INSTALL_FAILED',
  'PLUGIN_TEST_FAILED',
] as const;
export type CliErrorCode = Exclude<(typeof CLI_ERROR_CODES)[number], 'USAGE'>;

/** `test` found this host cannot run VMs; `start-entrypoint` for an image with nothing to run; `install-plugin`. */
export class CliError extends RuntimeError {
  constructor(code: CliErrorCode, message: string, options: { cause?: unknown; reply?: ReplyKind } = {}) {
    super(code, message, options);
  }
}
