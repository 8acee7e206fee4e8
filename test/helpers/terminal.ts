/**
 * Runs the CLI on a pseudo-terminal, as an operator types it, until it exits: util-linux `script` makes the pty,
 * so the runtime's stdin, stdout and stderr are all that terminal. Like test/vm/operator.test.ts, $SHELL is pinned
 * to /bin/sh (script runs the command through it) and the command is exec'd, so the runtime itself is the
 * terminal's foreground process and `script -e` reports the runtime's own exit code.
 */
import { spawn } from 'node:child_process';
import { CLI } from './paths.js';

export interface TerminalResult {
  code: number | null;
  /** Everything the terminal showed, with the terminal's CRLF line ends turned into LF. */
  screen: string;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function runCliOnTerminal(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<TerminalResult> {
  const command = ['exec', ...[process.execPath, CLI, ...args].map(shellQuote)].join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, ...opts.env, SHELL: '/bin/sh' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  child.stdout.on('data', (c: Buffer) => (screen += c.toString()));
  child.stderr.on('data', (c: Buffer) => (screen += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolve({ code, screen: screen.replace(/\r\n/g, '\n') });
    });
  });
}
