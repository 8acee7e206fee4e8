/**
 * The only place that constructs pino loggers. With a workdir, logs go to `<workdir>/logs/runtime.log` (JSON, one
 * line per entry, written synchronously so the last lines survive an abrupt exit); without one, to stderr. Never to
 * stdout: in service mode stdout carries protobuf frames only, and `deploy`/`offer-template` print JSON there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { workdir?: string; level?: string; name?: string }): Logger {
  const level = opts.level ?? process.env['YA_RUNTIME_VM_LOG'] ?? 'info';
  if (opts.workdir) {
    const dir = path.join(opts.workdir, 'logs');
    fs.mkdirSync(dir, { recursive: true });
    const dest = pino.destination({ dest: path.join(dir, 'runtime.log'), sync: true, mkdir: true });
    return pino({ level, name: opts.name ?? 'ya-runtime-vm', base: { pid: process.pid } }, dest);
  }
  return pino({ level, name: opts.name ?? 'ya-runtime-vm', base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything (tests, and commands that must print nothing). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
