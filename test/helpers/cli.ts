/** Runs the CLI as a child process, the way the ExeUnit or an operator does. */
import { execa } from 'execa';
import { CLI } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  opts: { cwd?: string; input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const r = await execa(process.execPath, [CLI, ...args], {
    reject: false,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 120_000,
    stripFinalNewline: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    env: opts.env,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Parses deploy's stdout as the ExeUnit does: from the first `{`, only whitespace may follow the object. */
export function parseFromFirstBrace(stdout: string): unknown {
  const i = stdout.indexOf('{');
  if (i < 0) throw new Error(`no JSON object in ${JSON.stringify(stdout)}`);
  return JSON.parse(stdout.slice(i));
}
