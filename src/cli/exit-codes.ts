/**
 * Exit codes of the CLI, one table (documented in docs/errors.md). `run` instead exits with the guest process's
 * own code: its exit status, 128+N after signal N, 127 when the binary was not found, 126 when it cannot run.
 */
import { RuntimeError } from '../errors.js';
import { ImageError, PackError } from '../image/errors.js';
import { DeploymentError } from '../deployment/errors.js';
import { UsageError } from './globals.js';

export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  IMAGE: 3,
  DEPLOYMENT: 4,
  VM: 5,
} as const;

/**
 * `start`: in service mode the service's code (SERVICE_EXIT in src/api/service.ts, which must keep these values:
 * test/unit/cli/exit-codes.test.ts checks; not imported here, so that every command does not load the service),
 * after SIGTERM/SIGINT OK; in operator mode OK, or BOOT_CANCELLED (128 + SIGINT, as a shell) when Ctrl-C cancelled
 * the boot. A failure before the service runs (no deployment.json, ...) exits by exitCodeFor like any command.
 */
export const START_EXIT = {
  OK: 0,
  CLEANUP_FAILED: 1,
  STREAM_BROKEN: 2,
  BOOT_CANCELLED: 130,
} as const;

/** `run`'s own codes for a command that could not start, as a shell's; otherwise it exits with the process's code. */
export const RUN_EXIT = {
  NOT_EXECUTABLE: 126,
  NOT_FOUND: 127,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof ImageError || err instanceof PackError) return EXIT.IMAGE;
  if (err instanceof DeploymentError) return EXIT.DEPLOYMENT;
  if (err instanceof RuntimeError) return EXIT.VM;
  return EXIT.INTERNAL;
}
