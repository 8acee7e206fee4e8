/**
 * `install-plugin [--user] [--plugins-dir DIR] [--restore]`: make yagna use this runtime as its `vm` runtime.
 *
 * yagna's provider reads `<plugins>/ya-*.json` and resolves `supervisor-path` and `runtime-path` relative to the
 * descriptor's folder, so one descriptor cannot serve both layouts: the Debian package ships one for a system yagna
 * (/usr/lib/yagna/plugins, relative exe-unit), and this command writes one with absolute paths into another layout,
 * by default yagna's installer layout (`--user`: ~/.local/lib/yagna/plugins), then runs the runtime's `test` the way
 * the provider will. The runtime name stays `vm` (requestors ask for `golem.runtime.name = "vm"`), so it replaces
 * the official descriptor, which is kept as `ya-runtime-vm.json.orig` (not matched by `ya-*.json`);
 * `--restore` puts it back.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { VERSION } from '../version.js';

export const DESCRIPTOR_FILE = 'ya-runtime-vm.json';
export const BACKUP_SUFFIX = '.orig';
export const SYSTEM_PLUGINS_DIR = '/usr/lib/yagna/plugins';
/** Ours, as runtime-descriptor.json says (test/unit/cli/install-plugin.test.ts keeps the two the same). */
export const DESCRIPTION =
  'Golem VM runtime (TypeScript): QEMU microVM with virtio-fs volumes and an on-disk writable root';
export const EXTRA_ARGS = ['--cap-handoff'];

export interface PluginDescriptor {
  name: string;
  version: string;
  'supervisor-path': string;
  'runtime-path': string;
  description: string;
  'extra-args': string[];
  properties: Record<string, unknown>;
}

/** yagna's installer layout for `--user`. */
export function userPluginsDir(home = os.homedir()): string {
  return path.join(home, '.local', 'lib', 'yagna', 'plugins');
}

export function pluginDescriptor(runtimePath: string, supervisorPath: string): PluginDescriptor[] {
  return [
    {
      name: 'vm',
      version: VERSION,
      'supervisor-path': supervisorPath,
      'runtime-path': runtimePath,
      description: DESCRIPTION,
      'extra-args': [...EXTRA_ARGS],
      properties: {},
    },
  ];
}

/** A descriptor file this runtime wrote (or the package shipped): ours to replace without keeping a copy. */
export function isOurs(text: string): boolean {
  try {
    const d: unknown = JSON.parse(text);
    return (
      Array.isArray(d) && d.some((e: unknown) => (e as { description?: unknown } | null)?.description === DESCRIPTION)
    );
  } catch {
    return false;
  }
}

export interface InstallResult {
  file: string;
  /** Where the descriptor that was there before went (the official one). */
  backup?: string;
  unchanged: boolean;
  warnings: string[];
}

/** Writes `<dir>/ya-runtime-vm.json` (absolute paths), keeping a foreign one as `.orig`. No test run. */
export async function installDescriptor(opts: {
  dir: string;
  runtimePath: string;
  supervisorPath?: string;
}): Promise<InstallResult> {
  const dir = path.resolve(opts.dir);
  const runtimePath = path.resolve(opts.runtimePath);
  const supervisorPath = path.resolve(dir, opts.supervisorPath ?? 'exe-unit');
  const warnings: string[] = [];
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new CliError('PLUGIN_INSTALL_FAILED', `cannot create ${dir}: ${(err as Error).message}`, { cause: err });
  }
  if (!(await executable(supervisorPath)))
    warnings.push(
      `${supervisorPath} (yagna's exe-unit) is not there yet: yagna's installer puts it there; the provider cannot start this runtime without it`,
    );
  if (!(await executable(runtimePath))) warnings.push(`${runtimePath} is not an executable file`);
  const file = path.join(dir, DESCRIPTOR_FILE);
  const text = JSON.stringify(pluginDescriptor(runtimePath, supervisorPath), null, 2) + '\n';
  const before = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (before === text) return { file, unchanged: true, warnings };
  let backup: string | undefined;
  if (before !== undefined && !isOurs(before)) {
    backup = file + BACKUP_SUFFIX;
    if (await exists(backup)) warnings.push(`${backup} exists already: left as it is, ${file} replaced`);
    else await fs.rename(file, backup);
  }
  // Another descriptor naming `vm` would make two runtimes claim the name.
  for (const other of await fs.readdir(dir).catch(() => [] as string[])) {
    if (other === DESCRIPTOR_FILE || !/^ya-.*\.json$/.test(other)) continue;
    const t = await fs.readFile(path.join(dir, other), 'utf8').catch(() => '');
    if (/"name"\s*:\s*"vm"/.test(t))
      warnings.push(`${path.join(dir, other)} also declares a runtime named "vm": remove or rename it`);
  }
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await fs.writeFile(tmp, text, { mode: 0o644 });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new CliError('PLUGIN_INSTALL_FAILED', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  return { file, ...(backup ? { backup } : {}), unchanged: false, warnings };
}

/** Puts the descriptor that install-plugin set aside back (or removes ours when there was none). */
export async function restoreDescriptor(dir: string): Promise<{ file: string; restored: boolean; removed: boolean }> {
  const file = path.join(path.resolve(dir), DESCRIPTOR_FILE);
  const backup = file + BACKUP_SUFFIX;
  const current = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (current !== undefined && !isOurs(current))
    throw new CliError('PLUGIN_INSTALL_FAILED', `${file} is not this runtime's: nothing to restore`);
  if (await exists(backup)) {
    await fs.rename(backup, file);
    return { file, restored: true, removed: false };
  }
  if (current !== undefined) await fs.rm(file);
  return { file, restored: false, removed: current !== undefined };
}

/** Runs `<runtime-path> <extra-args> test` as the provider does at start-up. */
async function selfTest(runtimePath: string): Promise<void> {
  const child = spawn(runtimePath, [...EXTRA_ARGS, 'test'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise<number | string>((resolve) => {
    child.on('error', (err) => resolve(err.message));
    child.on('close', (c, sig) => resolve(c ?? `signal ${sig}`));
  });
  if (code !== 0 || out.trim() !== '{}')
    throw new CliError(
      'PLUGIN_TEST_FAILED',
      `the descriptor is written, but \`${runtimePath} test\` failed (${typeof code === 'number' ? `exit code ${code}` : code}): yagna's provider would refuse to start; fix what it says and run install-plugin again`,
    );
}

async function executable(p: string): Promise<boolean> {
  return fs.access(p, fs.constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

interface Flags {
  user?: boolean;
  pluginsDir?: string;
  exeUnit?: string;
  runtimePath?: string;
  test: boolean;
  restore?: boolean;
}

/** The launcher that started us: the package's /usr/bin/ya-runtime-vm says so in the environment. */
export function defaultRuntimePath(env: NodeJS.ProcessEnv = process.env, argv1 = process.argv[1]): string {
  return path.resolve(env['YA_RUNTIME_VM_LAUNCHER'] || argv1 || 'ya-runtime-vm');
}

export async function installPluginCommand(ctx: Context, args: string[], cmd: Command): Promise<number> {
  let done: Promise<number> | undefined;
  cmd
    .description("write yagna's plugin descriptor for this runtime (runtime name vm) and check it with `test`")
    .option('--user', `yagna's installer layout: ${userPluginsDir()} (default: ${SYSTEM_PLUGINS_DIR})`)
    .option('--plugins-dir <dir>', "yagna's plugin folder to write into")
    .option('--exe-unit <path>', "yagna's exe-unit (default: exe-unit in the plugin folder)")
    .option('--runtime-path <path>', 'the runtime to name (default: this launcher)')
    .option('--no-test', 'do not run `test` afterwards')
    .option('--restore', 'put back the descriptor install-plugin replaced (the official runtime)')
    .action((o: Flags) => {
      const dir = o.pluginsDir ?? (o.user ? userPluginsDir() : SYSTEM_PLUGINS_DIR);
      done = (async () => {
        if (o.restore) {
          const r = await restoreDescriptor(dir);
          ctx.log.info(r, 'plugin descriptor restored');
          process.stderr.write(
            `ya-runtime-vm install-plugin: ${r.restored ? `restored ${r.file} from ${r.file}${BACKUP_SUFFIX}` : r.removed ? `removed ${r.file} (no earlier descriptor was kept)` : `nothing to do in ${dir}`}\n`,
          );
          process.stdout.write(JSON.stringify(r) + '\n');
          return EXIT.OK;
        }
        const runtimePath = o.runtimePath ?? defaultRuntimePath();
        const r = await installDescriptor({ dir, runtimePath, ...(o.exeUnit ? { supervisorPath: o.exeUnit } : {}) });
        ctx.log.info(r, 'plugin descriptor installed');
        for (const w of r.warnings) process.stderr.write(`ya-runtime-vm install-plugin: warning: ${w}\n`);
        process.stderr.write(
          `ya-runtime-vm install-plugin: ${r.unchanged ? `${r.file} is up to date` : `wrote ${r.file}`}${r.backup ? `; the descriptor that was there (the official vm runtime) is now ${r.backup}: switch back with install-plugin --restore${o.user ? ' --user' : ''}` : ''}\n`,
        );
        if (o.test) await selfTest(runtimePath);
        process.stdout.write(JSON.stringify({ ...r, tested: o.test }) + '\n');
        return EXIT.OK;
      })();
    })
    .parse(args, { from: 'user' });
  return done ?? EXIT.OK;
}
