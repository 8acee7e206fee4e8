/**
 * The flattened tar into squashfs-tools' `sqfstar` (4.5+, no root needed): it reads a tar on stdin and keeps owners,
 * modes, devices and xattrs as the tar has them. The root inode gets 0755 and 0:0 (sqfstar's default is 0777).
 */
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { ImageToolError, PackError } from '../errors.js';
import { TarWriter } from '../tar/writer.js';

export async function squashTar(
  output: string,
  compression: string,
  extraArgs: readonly string[],
  write: (tar: TarWriter) => Promise<void>,
): Promise<void> {
  const args = ['-comp', compression, '-root-mode', '0755', '-root-uid', '0', '-root-gid', '0', ...extraArgs];
  args.push('-no-progress', '-quiet', '-force', output);
  const child = spawn('sqfstar', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new ImageToolError('TOOL_MISSING', 'pack: sqfstar not found: install squashfs-tools 4.5 or later')
          : err,
      ),
    );
    child.once('close', (code) => resolve(code));
  });
  // sqfstar exiting early (a bad option, a full disk) breaks our pipe: its exit status and stderr say why.
  child.stdin.on('error', () => undefined);
  const tar = new TarWriter(child.stdin);
  let writeErr: unknown;
  try {
    await write(tar);
    await tar.finish();
  } catch (err) {
    writeErr = err;
  }
  child.stdin.end();
  const failed = (code: number | null): PackError => {
    // Its first unindented line says why (a usage error is followed by the option list).
    const why = stderr.split('\n').find((l) => l.trim() !== '' && !/^\s/.test(l));
    return new PackError('PACK_MKSQUASHFS', `pack: sqfstar failed (exit ${code})${why ? `: ${why.trim()}` : ''}`);
  };
  if (writeErr !== undefined) {
    // sqfstar ending first (a full disk, an entry it refuses) is why the writing failed: say what sqfstar said.
    const early =
      child.exitCode ?? (await Promise.race([exited, delay(200).then(() => undefined)]).catch(() => undefined));
    child.kill('SIGKILL');
    await exited.catch(() => undefined);
    if (typeof early === 'number' && early !== 0) throw failed(early);
    throw writeErr;
  }
  const code = await exited;
  if (code !== 0) throw failed(code);
}
