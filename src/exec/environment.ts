/**
 * Docker-like process environment: the image `Env`, then `PATH` (default when the image has none), `HOSTNAME`
 * and `HOME` when not set by the image, then the request's own entries (which win). Pure.
 */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function buildEnvironment(
  imageEnv: readonly string[],
  defaults: { hostname: string; home: string },
  extra: readonly string[] = [],
): string[] {
  const map = new Map<string, string>();
  const put = (entry: string): void => {
    const i = entry.indexOf('=');
    if (i > 0) map.set(entry.slice(0, i), entry);
  };
  imageEnv.forEach(put);
  if (!map.has('PATH')) map.set('PATH', `PATH=${DEFAULT_PATH}`);
  if (!map.has('HOSTNAME')) map.set('HOSTNAME', `HOSTNAME=${defaults.hostname}`);
  if (!map.has('HOME')) map.set('HOME', `HOME=${defaults.home}`);
  extra.forEach(put);
  return [...map.values()];
}

/** Working directory: the request's, else the image WorkingDir, else "/". */
export function workingDirectory(requested: string | undefined, imageWorkingDir: string): string {
  return requested || imageWorkingDir || '/';
}
