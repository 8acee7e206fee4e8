/**
 * Small file helpers of the VM layer: the tail of a log, the last lines of a text, an executable in PATH.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** The last `maxBytes` of a file as text; '' when it does not exist. */
export async function tailFile(file: string, maxBytes: number): Promise<string> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(file, 'r');
    const { size } = await fh.stat();
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    await fh?.close();
  }
}

/** The last `n` non-blank lines, carriage returns and other control characters (except tab) removed. */
export function lastLines(text: string, n: number): string[] {
  if (n <= 0) return [];
  const lines = text
    .split('\n')
    // eslint-disable-next-line no-control-regex
    .map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').trimEnd())
    .filter((l) => l.trim() !== '');
  return lines.slice(-n);
}

/** Absolute path of `name` in PATH, or undefined. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // next
    }
  }
  return undefined;
}
