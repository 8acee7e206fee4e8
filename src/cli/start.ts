import type { Context } from './main.js';
import { RuntimeError } from '../errors.js';

export async function startCommand(_ctx: Context, _args: string[]): Promise<number> {
  throw new RuntimeError('NOT_BUILT', 'start: not implemented yet');
}
