/** `pack SOURCE -o OUT.gvmi [...]`: build a .gvmi from an image or a folder and print its SHA3-224. */
import path from 'node:path';
import type { Command } from 'commander';
import type { Context } from './context.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './globals.js';
import { COMPRESSIONS, pack, type Compression } from '../image/pack.js';
import { terminalProgress } from './pack-progress.js';

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
  reproducible?: boolean;
  tlsVerify: string;
  authfile?: string;
}

export async function packCommand(ctx: Context, args: string[], cmd: Command): Promise<number> {
  let done: Promise<number> | undefined;
  cmd
    .description('build a .gvmi image from a Docker or OCI image, or a root filesystem, without Docker or root')
    .argument(
      '<source>',
      'docker save tar | oci:DIR[:TAG] | oci-archive:FILE[:TAG] | docker-archive:FILE[:REPO:TAG] | docker://REPO[:TAG] | a root filesystem folder or tar',
    )
    .requiredOption('-o, --output <file>', 'the .gvmi to write')
    .option('--entrypoint <arg>', "Entrypoint element, replacing the image's (repeat for each)", collect)
    .option('--cmd <arg>', "Cmd element, replacing the image's (repeat for each)", collect)
    .option('--env <K=V>', "environment entry, set over the image's (repeatable)", collect)
    .option('--workdir <path>', "WorkingDir, replacing the image's (default: the image's, else /)")
    .option('--volume <path>', 'guest path of a volume, added to the image ones (repeatable)', collect)
    .option('--user <user>', 'User: uid, uid:gid or a name in the image /etc/passwd (written as uid:gid)')
    .option('--compression <c>', `squashfs compression: ${COMPRESSIONS.join('|')}`, 'lzo')
    .option('--reproducible', 'the same input gives the same image: fixed times (SOURCE_DATE_EPOCH, else 0)')
    .option(
      '--tls-verify <bool>',
      'docker://: verify the registry certificate and use HTTPS (false for a local registry)',
      'true',
    )
    .option('--authfile <file>', "docker://: registry credentials file (default: skopeo's usual places)")
    .action((source: string, o: PackFlags) => {
      if (!(COMPRESSIONS as readonly string[]).includes(o.compression)) {
        throw new UsageError(`pack: --compression ${o.compression}: expected one of ${COMPRESSIONS.join(', ')}`);
      }
      if (o.tlsVerify !== 'true' && o.tlsVerify !== 'false')
        throw new UsageError(`pack: --tls-verify ${o.tlsVerify}: expected true or false`);
      done = (async () => {
        const bar = process.stderr.isTTY === true ? terminalProgress(process.stderr) : undefined;
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
          ...(o.reproducible ? { reproducible: true } : {}),
          registry: { tlsVerify: o.tlsVerify === 'true', ...(o.authfile ? { authFile: o.authfile } : {}) },
          progress: bar !== undefined,
          ...(bar ? { onProgress: bar.report } : {}),
        }).finally(() => bar?.stop());
        for (const w of res.warnings) process.stderr.write(`ya-runtime-vm pack: warning: ${w}\n`);
        ctx.log.info(res, 'image packed');
        // The link form the SDKs take for a self-hosted image: hash:sha3:<hex>:<url where it is served>.
        process.stdout.write(
          `${res.output}\nsize: ${res.size}\nsha3-224: ${res.sha3}\nlink: hash:sha3:${res.sha3}:<url of ${path.basename(res.output)}>\n`,
        );
        return EXIT.OK;
      })();
    })
    .parse(args, { from: 'user' });
  return done ?? 0;
}
