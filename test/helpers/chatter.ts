/**
 * The reader's side of test/image/chatter.c: each of P processes wrote L lines "<proc> <stream> <seq> <pad>\n",
 * one write(2) each, on stdout (o) or stderr (e). Lines are shorter than PIPE_BUF, so none is torn; processes
 * interleave freely. verifyChatter checks that every process's lines on each stream come in order, with no gap,
 * duplicate or stray byte, and that together they are exactly L per process.
 */

export interface ChatterSpec {
  procs: number;
  lines: number;
  /** chatter -e: some lines on stderr. */
  stderr: boolean;
}

/** Mirrors line_on_stderr() in chatter.c. */
function onStderr(seq: number): boolean {
  return Number(((BigInt(seq) * 2654435761n) & 0xffffffffffffffffn) >> 7n) % 3 === 0;
}

export function chatterArgv(s: ChatterSpec): string[] {
  return ['chatter', '-p', String(s.procs), '-n', String(s.lines), ...(s.stderr ? ['-e'] : [])];
}

/** Problems found (empty when the output is exact); at most a few, each naming where. */
export function verifyChatter(stdout: Buffer, stderr: Buffer, s: ChatterSpec): string[] {
  const problems: string[] = [];
  const check = (buf: Buffer, stream: 'o' | 'e'): void => {
    const text = buf.toString('latin1');
    if (text.length > 0 && !text.endsWith('\n'))
      problems.push(`${stream}: output ends inside a line: ${JSON.stringify(text.slice(-40))}`);
    const next = new Array<number>(s.procs).fill(0);
    const lines = text.split('\n');
    lines.pop();
    for (const [n, line] of lines.entries()) {
      if (problems.length >= 5) return;
      const m = /^(\d+) ([oe]) (\d+) (\.*)$/.exec(line);
      if (!m || m[2] !== stream) {
        problems.push(`${stream} line ${n}: unexpected ${JSON.stringify(line.slice(0, 80))}`);
        continue;
      }
      const proc = Number(m[1]);
      const seq = Number(m[3]);
      if (proc >= s.procs) {
        problems.push(`${stream} line ${n}: process ${proc} out of range`);
        continue;
      }
      // The next sequence number this process writes on this stream.
      let want = next[proc]!;
      while (want < s.lines && (s.stderr && onStderr(want)) !== (stream === 'e')) want++;
      if (seq !== want) problems.push(`${stream} line ${n}: process ${proc} seq ${seq}, expected ${want}`);
      if (m[4]!.length !== (seq * 7) % 61) problems.push(`${stream} line ${n}: bad padding for seq ${seq}`);
      next[proc] = Math.max(seq, want) + 1;
    }
    for (let p = 0; p < s.procs && problems.length < 5; p++) {
      let last = s.lines;
      while (last > next[p]! && (s.stderr && onStderr(last - 1)) !== (stream === 'e')) last--;
      if (next[p]! < last)
        problems.push(`${stream}: process ${p} stopped at seq ${next[p]}, expected up to ${last - 1}`);
    }
  };
  check(stdout, 'o');
  check(stderr, 'e');
  return problems;
}
