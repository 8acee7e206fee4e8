import type { Context } from './main.js';
import { RuntimeError } from '../errors.js';

export async function runCommand(_ctx: Context, _ep: string | undefined, _cmd: string[]): Promise<number> {
  throw new RuntimeError('NOT_BUILT', 'run: not implemented yet');
}
