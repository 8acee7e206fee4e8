/** `pack SOURCE -o OUT.gvmi [...]`: build a .gvmi from an image or a folder and print its SHA3-224. */
import type { Command } from 'commander';
import type { Context } from './context.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './globals.js';
import { COMPRESSIONS, pack, type Compression } from '../image/pack.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

interface PackFlags {
  output: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  volume?: string[];
  user?: string;
  compression: string;
}

export async function packCommand(ctx: Context, args: string[], cmd: Command): Promise<number> {
  let done: Promise<number> | undefined;
  cmd
    .description('build a .gvmi image from a Docker or OCI image, or a root filesystem, without Docker or root')
    .argument(
      '<source>',
      'docker save tar | oci:DIR[:TAG] | oci-archive:FILE[:TAG] | docker-archive:FILE[:REPO:TAG] | a root filesystem folder or tar',
    )
    .requiredOption('-o, --output <file>', 'the .gvmi to write')
    .option('--entrypoint <arg>', "Entrypoint element, replacing the image's (repeat for each)", collect)
    .option('--cmd <arg>', "Cmd element, replacing the image's (repeat for each)", collect)
    .option('--env <K=V>', "environment entry, set over the image's (repeatable)", collect)
    .option('--workdir <path>', "WorkingDir, replacing the image's (default: the image's, else /)")
    .option('--volume <path>', 'guest path of a volume, added to the image ones (repeatable)', collect)
    .option('--user <user>', 'User: uid, uid:gid or a name in the image /etc/passwd (written as uid:gid)')
    .option('--compression <c>', `squashfs compression: ${COMPRESSIONS.join('|')}`, 'lzo')
    .action((source: string, o: PackFlags) => {
      if (!(COMPRESSIONS as readonly string[]).includes(o.compression)) {
        throw new UsageError(`pack: --compression ${o.compression}: expected one of ${COMPRESSIONS.join(', ')}`);
      }
      done = (async () => {
        const res = await pack({
          source,
          output: o.output,
          ...(o.entrypoint ? { entrypoint: o.entrypoint } : {}),
          ...(o.cmd ? { cmd: o.cmd } : {}),
          ...(o.env ? { env: o.env } : {}),
          ...(o.workdir ? { workdir: o.workdir } : {}),
          ...(o.volume ? { volumes: o.volume } : {}),
          ...(o.user ? { user: o.user } : {}),
          compression: o.compression as Compression,
          progress: process.stderr.isTTY === true,
        });
        for (const w of res.warnings) process.stderr.write(`ya-runtime-vm pack: warning: ${w}\n`);
        ctx.log.info(res, 'image packed');
        process.stdout.write(`${res.output}\nsize: ${res.size}\nsha3-224: ${res.sha3}\n`);
        return EXIT.OK;
      })();
    })
    .parse(args, { from: 'user' });
  return done ?? 0;
}
