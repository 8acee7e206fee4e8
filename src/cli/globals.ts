/**
 * Global options: the ExeUnit puts them before the subcommand (docs/yagna-contract.md, section 1.2) and may add
 * operator `--runtime-arg` values we have never heard of, which must not make us fail. Commander cannot skip options
 * it does not know while still finding the subcommand after them (it cannot tell whether `--foo bar` takes a value),
 * so this module splits argv by hand: known global options are parsed and validated here, unknown ones are reported
 * (the caller logs them) and dropped, and everything from the subcommand on goes to commander.
 */
import { RuntimeError } from '../errors.js';
import { parseEndpoint, type Endpoint, type NetworkRole } from '../network/endpoint.js';

export class UsageError extends RuntimeError {
  constructor(message: string) {
    super('USAGE', message, { reply: 'bad-request' });
  }
}

export const SUBCOMMANDS = [
  'deploy',
  'start',
  'run',
  'offer-template',
  'test',
  'pack',
  'install-plugin',
  'help',
] as const;

export interface GlobalOptions {
  workdir?: string;
  taskPackage?: string;
  cpuCores?: number;
  memGib?: number;
  storageGib?: number;
  volumeOverride?: string;
  hostname?: string;
  /** `--vpn-endpoint` / `--inet-endpoint`, parsed (docs/networking.md). */
  network: Partial<Record<NetworkRole, Endpoint>>;
  /** `--net user`: QEMU's user-mode network for operators (refused in service mode). */
  net: 'none' | 'user';
  accel: 'auto' | 'kvm' | 'tcg';
  virtiofsd?: string;
  guestDir?: string;
  volumes: 'auto' | 'virtiofs' | '9p';
  logLevel?: string;
  /** `--guest-pids-max`, `--guest-mem-reserve-mib`, `--guest-cpu-weight` (docs/operator-guide.md, "Guest limits"). */
  limits: { pidsMax?: number; memReserveBytes?: number; cpuWeight?: number };
}

type Setter = (g: GlobalOptions, v: string, name: string) => void;

function num(kind: 'int' | 'float'): (v: string, name: string) => number {
  return (v, name) => {
    const ok = kind === 'int' ? /^[0-9]+$/.test(v) : /^[0-9]+(\.[0-9]+)?$/.test(v);
    if (!ok)
      throw new UsageError(`${name} ${JSON.stringify(v)}: expected ${kind === 'int' ? 'a whole number' : 'a number'}`);
    return Number(v);
  };
}

function oneOf<T extends string>(allowed: readonly T[]): (v: string, name: string) => T {
  return (v, name) => {
    if (!(allowed as readonly string[]).includes(v))
      throw new UsageError(`${name} ${JSON.stringify(v)}: expected one of ${allowed.join(', ')}`);
    return v as T;
  };
}

/** A whole number from lo to hi. */
function bounded(v: string, name: string, lo: number, hi: number): number {
  const n = num('int')(v, name);
  if (n < lo || n > hi) throw new UsageError(`${name} ${v}: expected ${lo} to ${hi}`);
  return n;
}

/** A bad endpoint is a usage error (exit 2) with the network layer's message. */
function endpoint(role: NetworkRole, v: string): Endpoint {
  try {
    return parseEndpoint(role, v);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

const VALUE_OPTIONS: Record<string, Setter> = {
  '--workdir': (g, v) => (g.workdir = v),
  '--task-package': (g, v) => (g.taskPackage = v),
  '--cpu-cores': (g, v, n) => (g.cpuCores = num('int')(v, n)),
  '--mem-gib': (g, v, n) => (g.memGib = num('float')(v, n)),
  '--storage-gib': (g, v, n) => (g.storageGib = num('float')(v, n)),
  '--volume-override': (g, v) => (g.volumeOverride = v),
  '--hostname': (g, v) => (g.hostname = v),
  '--vpn-endpoint': (g, v) => (g.network.vpn = endpoint('vpn', v)),
  '--inet-endpoint': (g, v) => (g.network.inet = endpoint('inet', v)),
  '--net': (g, v, n) => (g.net = oneOf(['none', 'user'] as const)(v, n)),
  '--accel': (g, v, n) => (g.accel = oneOf(['auto', 'kvm', 'tcg'] as const)(v, n)),
  '--virtiofsd': (g, v) => (g.virtiofsd = v),
  '--guest-dir': (g, v) => (g.guestDir = v),
  '--volumes': (g, v, n) => (g.volumes = oneOf(['auto', 'virtiofs', '9p'] as const)(v, n)),
  '--guest-pids-max': (g, v, n) => (g.limits.pidsMax = bounded(v, n, 0, 4194304)),
  '--guest-mem-reserve-mib': (g, v, n) => (g.limits.memReserveBytes = bounded(v, n, 0, 1 << 20) * 1024 * 1024),
  '--guest-cpu-weight': (g, v, n) => (g.limits.cpuWeight = bounded(v, n, 1, 10000)),
  '--log-level': (g, v, n) =>
    (g.logLevel = oneOf(['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const)(v, n)),
};

export interface SplitArgv {
  globals: GlobalOptions;
  /** Unknown global options, as given (logged by the caller, otherwise ignored). */
  ignored: string[];
  /** `--help`/`-h` or `--version`/`-V` seen before any subcommand. */
  flag?: 'help' | 'version';
  /** The subcommand and its arguments (empty when none was given). */
  rest: string[];
}

export function splitArgv(argv: string[]): SplitArgv {
  const globals: GlobalOptions = { accel: 'auto', volumes: 'auto', network: {}, net: 'none', limits: {} };
  const ignored: string[] = [];
  let flag: SplitArgv['flag'];
  let i = 0;
  while (i < argv.length) {
    const tok = argv[i]!;
    if ((SUBCOMMANDS as readonly string[]).includes(tok)) break;
    if (tok === '--help' || tok === '-h') flag ??= 'help';
    else if (tok === '--version' || tok === '-V') flag ??= 'version';
    else if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const name = eq >= 0 ? tok.slice(0, eq) : tok;
      const setter = VALUE_OPTIONS[name];
      if (setter) {
        let value: string | undefined;
        if (eq >= 0) value = tok.slice(eq + 1);
        else value = argv[++i];
        if (value === undefined) throw new UsageError(`${name}: missing value`);
        setter(globals, value, name);
      } else {
        ignored.push(tok);
        // An unknown `--name value`: take the next token as its value unless it looks like an option or subcommand.
        const next = argv[i + 1];
        if (
          eq < 0 &&
          next !== undefined &&
          !next.startsWith('-') &&
          !(SUBCOMMANDS as readonly string[]).includes(next)
        ) {
          ignored.push(next);
          i++;
        }
      }
    } else {
      throw new UsageError(`unknown command ${JSON.stringify(tok)} (expected one of ${SUBCOMMANDS.join(', ')})`);
    }
    i++;
  }
  if (globals.net === 'user' && globals.network.inet)
    throw new UsageError('--net user and --inet-endpoint both give the VM its default route: use one of them');
  return { globals, ignored, ...(flag ? { flag } : {}), rest: argv.slice(i) };
}

/**
 * `deploy`'s arguments (it takes none that matter): what its commander definition accepted, without loading
 * commander (main.ts). Operands pass; an option before `--` is refused as unknown (`deploy --help` must never print
 * help on stdout, which carries the deploy JSON).
 */
export function deployArgs(args: string[]): string[] {
  const dash = args.indexOf('--');
  const before = dash < 0 ? args : args.slice(0, dash);
  const opt = before.find((a) => a.length > 1 && a.startsWith('-'));
  if (opt !== undefined) throw new UsageError(`unknown option '${opt}'`);
  return dash < 0 ? args : [...before, ...args.slice(dash + 1)];
}

/** `start`'s arguments (e.g. `start-entrypoint`): every token, unknown options included, less the first `--`. */
export function startArgs(args: string[]): string[] {
  const dash = args.indexOf('--');
  return dash < 0 ? [...args] : [...args.slice(0, dash), ...args.slice(dash + 1)];
}
