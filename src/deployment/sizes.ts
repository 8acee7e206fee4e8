/**
 * Lenient byte sizes as the ExeUnit and operators write them: a number of bytes (`1073741824`), or a string with an
 * optional unit: `1gi`, `512 MiB`, `10 g`, `10.7 GB`, `100k`, case-insensitive. A unit with `i` is binary (KiB =
 * 1024), without it decimal (the ExeUnit prints decimal units: 10 GiB arrives as "10.7 GB"). Results are whole bytes.
 */
const POWERS: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

export function parseSize(input: unknown): number | undefined {
  if (typeof input === 'number') {
    // The same bound as for strings: a byte count past 2^53 is not exact, and deployment.json would refuse it.
    return Number.isFinite(input) && input >= 0 && Math.round(input) <= Number.MAX_SAFE_INTEGER
      ? Math.round(input)
      : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([kmgtp]?)(i?)(b?)\s*$/i.exec(input);
  if (!m) return undefined;
  const [, num = '', prefix = '', bin = '', b = ''] = m;
  if (prefix === '' && bin !== '') return undefined; // "5i" or "5ib" is not a unit
  if (prefix === '' && b === '' && /\D/.test(input.trim())) return undefined;
  const base = bin ? 1024 : 1000;
  const value = Number(num) * base ** (POWERS[prefix.toLowerCase()] ?? 0);
  return Number.isFinite(value) && value <= Number.MAX_SAFE_INTEGER ? Math.round(value) : undefined;
}

/** GiB given as a float on the command line (`--mem-gib 0.5`) → bytes. */
export function gibToBytes(gib: number): number {
  return Math.round(gib * 1024 ** 3);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
