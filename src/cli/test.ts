import type { Context } from './main.js';
import { RuntimeError } from '../errors.js';

export async function testCommand(_ctx: Context): Promise<number> {
  throw new RuntimeError('NOT_BUILT', 'test: not implemented yet');
}
