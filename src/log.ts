/**
 * The only place that constructs pino loggers. A logger writes JSON, one line per entry, synchronously (so the last
 * lines survive an abrupt exit), to one destination: `<workdir>/logs/runtime.log` with a workdir, another file when
 * given one, else stderr. Never to stdout: in service mode stdout carries protobuf frames only, and
 * `deploy`/`offer-template` print JSON there. Which destination a CLI command uses is src/cli/log-target.ts's call.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Log into `<workdir>/logs/runtime.log`. */
  workdir?: string;
  /** Without a workdir: log into this file (appended; its folder is created). */
  file?: string;
  /** With `file`: a file already larger than this is first renamed to `<file>.1`, replacing the previous one. */
  rotateBytes?: number;
  level?: string;
  name?: string;
}

/** The log of one activity. */
export function workdirLogFile(workdir: string): string {
  return path.join(workdir, 'logs', 'runtime.log');
}

/** Throws when the file cannot be opened (the caller decides what to fall back to). */
export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? process.env['YA_RUNTIME_VM_LOG'] ?? 'info';
  const options = { level, name: opts.name ?? 'ya-runtime-vm', base: { pid: process.pid } };
  const file = opts.workdir ? workdirLogFile(opts.workdir) : opts.file;
  if (file === undefined) return pino(options, new LossyDestination(2));
  if (!opts.workdir && opts.rotateBytes !== undefined) rotate(file, opts.rotateBytes);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return pino(options, new LossyDestination(fs.openSync(file, 'a')));
}

/**
 * Synchronous writes to a descriptor that never throw: a log line that cannot be written (the host disk full under
 * the workdir, stderr closed) is dropped and counted, and the next line that can be written is preceded by one that
 * says how many were lost. pino.destination throws from write() instead, which ended the runtime, and with it the
 * activity, when the disk filled up. Hand-written: pino's destinations have no lossy mode.
 */
export class LossyDestination {
  private dropped = 0;
  private lastError = '';

  constructor(readonly fd: number) {}

  write(line: string): boolean {
    if (this.dropped > 0) {
      const note = JSON.stringify({
        level: 40,
        time: Date.now(),
        pid: process.pid,
        msg: `${this.dropped} log lines were dropped: ${this.lastError}`,
      });
      if (!this.writeAll(`${note}\n`)) {
        this.dropped++;
        return true;
      }
      this.dropped = 0;
    }
    if (!this.writeAll(line)) this.dropped++;
    return true;
  }

  private writeAll(text: string): boolean {
    const buf = Buffer.from(text);
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off);
      return true;
    } catch (err) {
      this.lastError = (err as NodeJS.ErrnoException).code ?? String(err);
      return false;
    }
  }
}

/** Keeps a log that many runs append to bounded: one previous generation, `<file>.1`. */
function rotate(file: string, maxBytes: number): void {
  try {
    if (fs.statSync(file).size > maxBytes) fs.renameSync(file, `${file}.1`);
  } catch (err) {
    // No log yet, or a concurrent run has just rotated it: either way there is nothing to do.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** A logger that drops everything (tests, and commands that must print nothing). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
