/**
 * The runtime's cache folder: probe results, the guest build (<cache>/guest/current/) and, for commands without a
 * workdir, the log. A shared leaf: the CLI (where the log goes), the VM layer (guest files) and the activity
 * (accelerator probe cache) all need the same answer.
 * env YA_RUNTIME_VM_CACHE, else /var/cache/ya-runtime-vm as root, else $XDG_CACHE_HOME or ~/.cache, + ya-runtime-vm.
 */
import os from 'node:os';
import path from 'node:path';

export function defaultCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  isRoot = process.getuid?.() === 0,
  home = os.homedir(),
): string {
  const explicit = env['YA_RUNTIME_VM_CACHE'];
  if (explicit) return path.resolve(explicit);
  if (isRoot) return '/var/cache/ya-runtime-vm';
  const xdg = env['XDG_CACHE_HOME'];
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache'), 'ya-runtime-vm');
}
