/**
 * Where a command's JSON log goes (docs/operator-guide.md, Logs). The terminal gets only the lines meant for
 * people (one line per error or warning, docs/errors.md); the JSON log, stack traces included, goes to a file:
 *
 *  - `deploy` and `start` (workdir: --workdir, else the current folder, as the ExeUnit runs them) and `run
 *    --workdir`: `<workdir>/logs/runtime.log`, as before. Service mode is unchanged: stdout carries frames only.
 *  - any other command on a terminal: `<cache>/logs/runtime.log`, shared by such runs (an ephemeral `run`'s
 *    temporary workdir is removed when it ends, so its own log would be lost with it);
 *  - stderr, when it is not a terminal (the provider captures `test` and `offer-template`, scripts redirect it) or
 *    when --log-level asks for the log: default level warn there, as before.
 */
import path from 'node:path';
import { createLogger, type Logger } from '../log.js';

/** Commands that log into their activity's workdir. */
const ACTIVITY_COMMANDS: readonly string[] = ['deploy', 'start', 'run'];
/** The cache log is renamed to runtime.log.1 past this size, so that it stays bounded. */
export const CACHE_LOG_ROTATE_BYTES = 8 * 1024 * 1024;

export interface LogTargetInput {
  command: string;
  /** --workdir, when given. */
  workdir?: string;
  cwd: string;
  /** --log-level, when given. */
  level?: string;
  stderrIsTTY: boolean;
  /** The runtime's cache folder (defaultCacheDir()). */
  cacheDir: string;
}

export type LogTarget =
  | { to: 'workdir'; workdir: string; level: string }
  | { to: 'file'; file: string; level: string }
  | { to: 'stderr'; level: string };

/** `<cache>/logs/runtime.log`: the log of commands run on a terminal without an activity workdir. */
export function cacheLogFile(cacheDir: string): string {
  return path.join(cacheDir, 'logs', 'runtime.log');
}

export function chooseLogTarget(i: LogTargetInput): LogTarget {
  const workdir = i.workdir ?? (i.command === 'deploy' || i.command === 'start' ? i.cwd : undefined);
  if (workdir !== undefined && ACTIVITY_COMMANDS.includes(i.command))
    return { to: 'workdir', workdir, level: i.level ?? 'info' };
  if (i.stderrIsTTY && i.level === undefined) return { to: 'file', file: cacheLogFile(i.cacheDir), level: 'info' };
  return { to: 'stderr', level: i.level ?? 'warn' };
}

/**
 * The logger for a target. A cache log that cannot be opened (an unwritable cache folder) falls back to stderr at
 * level warn: the log stays visible rather than lost. A workdir log that cannot be opened is an error, as before.
 */
export function openLogger(t: LogTarget): Logger {
  switch (t.to) {
    case 'workdir':
      return createLogger({ workdir: t.workdir, level: t.level });
    case 'file':
      try {
        return createLogger({ file: t.file, rotateBytes: CACHE_LOG_ROTATE_BYTES, level: t.level });
      } catch {
        return createLogger({ level: 'warn' });
      }
    case 'stderr':
      return createLogger({ level: t.level });
  }
}
