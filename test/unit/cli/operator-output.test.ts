/**
 * What an operator's terminal shows (issue 10): one line per error, not the JSON log with its stack trace first.
 * The JSON log goes to <cache>/logs/runtime.log instead; with stderr not a terminal (a provider capturing it, a
 * redirect) or with --log-level, the JSON lines are still on stderr. Nothing here boots a VM: the image is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { runCliOnTerminal } from '../../helpers/terminal.js';

const MISSING = ['--task-package', '/nope.gvmi', 'run', '--', '/bin/true'];
const ONE_LINE = /^ya-runtime-vm run: \/nope\.gvmi: cannot open \(ENOENT\)/;

function tmpCache(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'yrvm-cache-'));
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function commandFailed(entries: Record<string, unknown>[]): Record<string, unknown> | undefined {
  return entries.find((e) => e['msg'] === 'command failed');
}

test('on a terminal, a failing run prints its error as one line; the JSON log, stack included, is in the cache log', async () => {
  const cache = tmpCache();
  const r = await runCliOnTerminal(MISSING, { env: { YA_RUNTIME_VM_CACHE: cache } });
  const lines = r.screen.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one line on the terminal:\n${r.screen}`);
  assert.match(lines[0] ?? '', ONE_LINE);
  assert.equal(r.code, 3, 'exit code 3: the image is unusable (docs/errors.md)');
  const failed = commandFailed(jsonLines(fs.readFileSync(path.join(cache, 'logs', 'runtime.log'), 'utf8')));
  assert.ok(failed, 'the cache log has the failure');
  assert.match(
    String((failed['err'] as { stack?: unknown } | undefined)?.stack),
    /ImageError: \/nope\.gvmi: cannot open/,
  );
  fs.rmSync(cache, { recursive: true });
});

test('on a terminal, a warning logged before the error (an unknown global option) stays in the log too', async () => {
  const cache = tmpCache();
  const r = await runCliOnTerminal(['--some-runtime-arg', 'x', ...MISSING], { env: { YA_RUNTIME_VM_CACHE: cache } });
  const lines = r.screen.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one line on the terminal:\n${r.screen}`);
  assert.match(lines[0] ?? '', ONE_LINE);
  assert.equal(r.code, 3);
  const log = jsonLines(fs.readFileSync(path.join(cache, 'logs', 'runtime.log'), 'utf8'));
  assert.ok(
    log.some((e) => e['msg'] === 'ignoring unknown global options'),
    'the warning is in the cache log',
  );
  fs.rmSync(cache, { recursive: true });
});

test('on a terminal, --log-level shows the JSON log on stderr as asked', async () => {
  const cache = tmpCache();
  const r = await runCliOnTerminal(['--log-level', 'debug', ...MISSING], { env: { YA_RUNTIME_VM_CACHE: cache } });
  assert.equal(r.code, 3);
  assert.ok(commandFailed(jsonLines(r.screen)), `JSON log on the terminal:\n${r.screen}`);
  assert.match(r.screen.trimEnd().split('\n').at(-1) ?? '', ONE_LINE);
  assert.equal(fs.existsSync(path.join(cache, 'logs')), false, 'no cache log');
  fs.rmSync(cache, { recursive: true });
});

test('with stderr not a terminal, the JSON lines are still on stderr, before the one-line error', async () => {
  const cache = tmpCache();
  const r = await runCli(MISSING, { env: { YA_RUNTIME_VM_CACHE: cache } });
  assert.equal(r.code, 3);
  assert.equal(r.stdout, '');
  const failed = commandFailed(jsonLines(r.stderr));
  assert.ok(failed, `JSON log on stderr:\n${r.stderr}`);
  assert.equal(failed['level'], 50);
  assert.match(r.stderr.trimEnd().split('\n').at(-1) ?? '', ONE_LINE);
  assert.equal(fs.existsSync(path.join(cache, 'logs')), false, 'no cache log');
  fs.rmSync(cache, { recursive: true });
});
