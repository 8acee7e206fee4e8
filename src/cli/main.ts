/**
 * CLI entry: split global options (globals.ts), open the log (log-target.ts), dispatch the subcommand, print any
 * error as one line ("ya-runtime-vm deploy: <error chain>") on stderr with the full stack only in the log, exit
 * with the code of exit-codes.ts. Nothing but a subcommand's own output ever reaches stdout.
 */
import type { Command } from 'commander';
import { errorChain } from '../errors.js';
import type { Logger } from '../log.js';
import { defaultCacheDir } from '../cache-dir.js';
import { VERSION } from '../version.js';
import { exitCodeFor, EXIT } from './exit-codes.js';
import type { Context } from './context.js';
import { deployArgs, splitArgv, startArgs, UsageError } from './globals.js';
import { chooseLogTarget, openLogger } from './log-target.js';
// Subcommand modules are imported when their command runs: loading execa, protobuf, zod and the VM layer for
// every invocation cost most of the CLI's start-up time (docs/benchmarks.md, Node cost). So is commander: `deploy`
// and `start`, the two commands on every activity's start path, take no options and split their arguments with
// globals.ts (the same rules as their commander definitions had), so they never load it.

export const HELP = `Usage: ya-runtime-vm [global options] <command> [options]

Golem provider runtime: runs .gvmi images in QEMU microVMs.

Commands:
  deploy --                          prepare the workdir for --task-package (prints the deploy JSON)
  start [start-entrypoint]           boot the VM; service mode (protobuf on stdio) or, on a terminal, operator mode
  run [--entrypoint EP] -- CMD ARGS  run a command in the VM of --workdir (or an ephemeral VM)
  offer-template                     print the offer template JSON
  test                               self-check: can this host run VMs?
  pack ROOTFS -o OUT.gvmi [...]      build a .gvmi from a folder (see: pack --help)
  install-plugin [--user] [...]      make yagna use this runtime as "vm" (see: install-plugin --help)

Global options (before the command):
  --workdir DIR            activity workdir (default: the current folder)
  --task-package FILE      the .gvmi image
  --cpu-cores N            vCPUs (default 1)
  --mem-gib G              guest memory in GiB (default 1)
  --storage-gib G          writable root disk in GiB (default 8, sparse)
  --volume-override JSON   {"/path":{"host":{}}|{"ram":{"size":S}}|{"storage":{"size":S}}}
  --hostname NAME          guest host name
  --vpn-endpoint URL       udp://IP:PORT (or tcp-connect://) of the ExeUnit's VPN socket: the VM gets a VPN NIC
  --inet-endpoint URL      the same for INET (outbound traffic through the ExeUnit)
  --net none|user          user: QEMU's user-mode network, for operators (start on a terminal, run); the
                           guest is 10.0.2.15 and reaches the host's loopback at 10.0.2.2. Refused in service mode
  --accel auto|kvm|tcg     accelerator (default auto: KVM if it really works, else TCG)
  --volumes auto|virtiofs|9p  transport for host volumes (default auto: virtio-fs, else 9p)
  --virtiofsd PATH         virtiofsd binary to use
  --guest-dir DIR          folder with bzImage + initramfs.img (default: the build-guest cache)
  --guest-pids-max N       processes + threads the requestor may have in the guest (default 2 per MiB, 1024..4096; 0: none)
  --guest-mem-reserve-mib M  guest memory kept for init and the kernel (default 1/16, 32..128 MiB; 0: no limit)
  --guest-cpu-weight W     cgroup cpu.weight of the requestor's processes, 1..10000 (default 100; init runs at nice -10)
  --log-level LEVEL        trace|debug|info|warn|error|silent (without a workdir: the log on stderr)
  -V, --version            print the version
  -h, --help               print this help
Unknown global options are ignored (logged).

Logs (JSON): deploy, start and run --workdir write <workdir>/logs/runtime.log. Other commands write to stderr
when it is not a terminal or with --log-level, else to <cache>/logs/runtime.log, where cache is
$YA_RUNTIME_VM_CACHE, /var/cache/ya-runtime-vm as root, or ~/.cache/ya-runtime-vm.
`;

export async function main(argv: string[]): Promise<void> {
  let sub = '';
  let log: Logger | undefined;
  try {
    const split = splitArgv(argv);
    sub = split.rest[0] ?? '';
    if (split.flag === 'version') return void process.stdout.write(`ya-runtime-vm ${VERSION}\n`);
    if (split.flag === 'help' || sub === 'help') return void process.stdout.write(HELP);
    if (!sub) throw new UsageError('no command given (see --help)');
    log = openLogger(
      chooseLogTarget({
        command: sub,
        workdir: split.globals.workdir,
        cwd: process.cwd(),
        level: split.globals.logLevel,
        stderrIsTTY: process.stderr.isTTY === true,
        cacheDir: defaultCacheDir(),
      }),
    );
    log.info({ argv, command: sub }, 'ya-runtime-vm %s', VERSION);
    if (split.ignored.length) log.warn({ ignored: split.ignored }, 'ignoring unknown global options');
    const ctx: Context = { globals: split.globals, log };
    process.exitCode = await dispatch(ctx, sub, split.rest.slice(1));
    if (sub === 'start') {
      // The service is over: stdin (still open after a Shutdown request) and stray handles must not keep us alive,
      // the ExeUnit waits for our exit. Flush stdout first so the Shutdown reply is not lost.
      await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
      log.flush?.();
      process.exit(process.exitCode);
    }
  } catch (err) {
    if (isCommanderError(err)) {
      process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    log?.error({ err }, 'command failed');
    // Messages of a command's own errors often start with its name ("pack: ..."): not twice.
    const chain = errorChain(err);
    const text = sub && chain.startsWith(`${sub}: `) ? chain.slice(sub.length + 2) : chain;
    process.stderr.write(`ya-runtime-vm${sub ? ` ${sub}` : ''}: ${text}\n`);
    process.exitCode = exitCodeFor(err);
  } finally {
    log?.flush?.();
  }
}

/** commander's errors (CommanderError) carry a `commander.*` code; tested by shape so commander loads only when used. */
function isCommanderError(err: unknown): err is { exitCode: number } {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; exitCode?: unknown };
  return typeof e.code === 'string' && e.code.startsWith('commander.') && typeof e.exitCode === 'number';
}

async function command(name: string): Promise<Command> {
  const { Command } = await import('commander');
  return new Command(name)
    .helpOption(name === 'pack' || name === 'install-plugin') // deploy/start args come from the ExeUnit or a requestor: no help on stdout
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);
}

async function dispatch(ctx: Context, sub: string, args: string[]): Promise<number> {
  let result: Promise<number> | undefined;
  switch (sub) {
    case 'deploy':
      deployArgs(args);
      result = import('./deploy.js').then((m) => m.deployCommand(ctx));
      break;
    case 'offer-template':
      (await command('offer-template'))
        .action(() => void (result = import('./offer-template.js').then((m) => m.offerTemplateCommand(ctx))))
        .parse(args, { from: 'user' });
      break;
    case 'test':
      (await command('test'))
        .allowExcessArguments(true)
        .argument('[args...]')
        .action(() => void (result = import('./test.js').then((m) => m.testCommand(ctx))))
        .parse(args, { from: 'user' });
      break;
    case 'start': {
      const a = startArgs(args);
      result = import('./start.js').then((m) => m.startCommand(ctx, a));
      break;
    }
    case 'run':
      (await command('run'))
        .option('--entrypoint <path>', 'program to run (the rest are its arguments)')
        .argument('[cmd...]', 'command and arguments (after --)')
        .passThroughOptions(true)
        .action(
          (cmd: string[], o: { entrypoint?: string }) =>
            void (result = import('./run.js').then((m) => m.runCommand(ctx, o.entrypoint, cmd))),
        )
        .parse(args, { from: 'user' });
      break;
    case 'pack':
      result = Promise.all([import('./pack.js'), command('pack')]).then(([m, c]) => m.packCommand(ctx, args, c));
      break;
    case 'install-plugin':
      result = Promise.all([import('./install-plugin.js'), command('install-plugin')]).then(([m, c]) =>
        m.installPluginCommand(ctx, args, c),
      );
      break;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(sub)}`);
  }
  return result ? await result : EXIT.OK;
}
