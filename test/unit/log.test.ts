import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createLogger, LossyDestination, workdirLogFile } from '../../src/log.js';
import { openLogger } from '../../src/cli/log-target.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'yrvm-log-'));
const fdOf = (log: pino.Logger): unknown =>
  (log as unknown as Record<symbol, { fd?: unknown }>)[pino.symbols.streamSym]?.fd;

test('a workdir logger writes JSON lines into <workdir>/logs/runtime.log', () => {
  const wd = tmp();
  const log = createLogger({ workdir: wd });
  log.info({ k: 1 }, 'hello');
  const lines = fs
    .readFileSync(workdirLogFile(wd), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.['msg'], 'hello');
  assert.equal(lines[0]?.['k'], 1);
  fs.rmSync(wd, { recursive: true });
});

test('a file logger creates its folder and appends', () => {
  const dir = tmp();
  const file = path.join(dir, 'a', 'b', 'runtime.log');
  createLogger({ file }).info('one');
  createLogger({ file }).info('two');
  assert.deepEqual(
    fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['one', 'two'],
  );
  fs.rmSync(dir, { recursive: true });
});

test('a file logger past rotateBytes keeps one previous generation', () => {
  const dir = tmp();
  const file = path.join(dir, 'runtime.log');
  fs.writeFileSync(file, 'x'.repeat(100) + '\n');
  fs.writeFileSync(`${file}.1`, 'older\n');
  createLogger({ file, rotateBytes: 200 }).info('small enough: kept');
  assert.equal(fs.existsSync(`${file}.1`) && fs.readFileSync(`${file}.1`, 'utf8'), 'older\n');
  createLogger({ file, rotateBytes: 50 }).info('after rotation');
  assert.match(fs.readFileSync(`${file}.1`, 'utf8'), /^x{100}\n.*small enough: kept/s);
  const now = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(now.length, 1);
  assert.match(now[0] ?? '', /after rotation/);
  fs.rmSync(dir, { recursive: true });
});

test('without a workdir or file, the logger writes to stderr', () => {
  assert.equal(fdOf(createLogger({})), 2);
});

test('a cache log that cannot be opened falls back to stderr at warn', () => {
  const dir = tmp();
  const notADir = path.join(dir, 'file');
  fs.writeFileSync(notADir, '');
  const log = openLogger({ to: 'file', file: path.join(notADir, 'logs', 'runtime.log'), level: 'info' });
  assert.equal(fdOf(log), 2);
  assert.equal(log.level, 'warn');
  fs.rmSync(dir, { recursive: true });
});

test('a workdir log that cannot be opened is an error', () => {
  const dir = tmp();
  const notADir = path.join(dir, 'file');
  fs.writeFileSync(notADir, '');
  assert.throws(() => openLogger({ to: 'workdir', workdir: notADir, level: 'info' }), /ENOTDIR|EEXIST/);
  fs.rmSync(dir, { recursive: true });
});

test('a log that cannot be written (disk full) drops lines instead of throwing, and says so once it can', () => {
  const full = createLogger({ file: '/dev/full' });
  assert.doesNotThrow(() => {
    for (let i = 0; i < 3; i++) full.info({ i }, 'lost');
  });
  // The same destination type on a descriptor that fails, then works again.
  const dir = tmp();
  const file = path.join(dir, 'x.log');
  const dest = new LossyDestination(fs.openSync('/dev/full', 'w'));
  dest.write('{"msg":"a"}\n');
  dest.write('{"msg":"b"}\n');
  Object.defineProperty(dest, 'fd', { value: fs.openSync(file, 'a') });
  dest.write('{"msg":"c"}\n');
  const lines = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string });
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['2 log lines were dropped: ENOSPC', 'c'],
  );
  fs.rmSync(dir, { recursive: true });
});
