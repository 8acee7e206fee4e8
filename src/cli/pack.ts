/** `pack ROOTFS -o OUT.gvmi [...]`: build a .gvmi from a folder and print its SHA3-224. */
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
    .description('build a .gvmi image from a root filesystem folder')
    .argument('<rootfs>', 'folder holding the root filesystem')
    .requiredOption('-o, --output <file>', 'the .gvmi to write')
    .option('--entrypoint <arg>', 'Entrypoint element (repeat for each)', collect)
    .option('--cmd <arg>', 'Cmd element (repeat for each)', collect)
    .option('--env <K=V>', 'environment entry (repeatable)', collect)
    .option('--workdir <path>', 'WorkingDir', '/')
    .option('--volume <path>', 'guest path of a volume (repeatable)', collect)
    .option('--user <user>', 'User (uid, uid:gid or a name in the image /etc/passwd)')
    .option('--compression <c>', `squashfs compression: ${COMPRESSIONS.join('|')}`, 'lzo')
    .action((rootfs: string, o: PackFlags) => {
      if (!(COMPRESSIONS as readonly string[]).includes(o.compression)) {
        throw new UsageError(`pack: --compression ${o.compression}: expected one of ${COMPRESSIONS.join(', ')}`);
      }
      done = (async () => {
        const res = await pack({
          rootfs,
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
        ctx.log.info(res, 'image packed');
        process.stdout.write(`${res.output}\nsize: ${res.size}\nsha3-224: ${res.sha3}\n`);
        return EXIT.OK;
      })();
    })
    .parse(args, { from: 'user' });
  return done ?? 0;
}
