/** What main.ts hands every subcommand: the parsed global options and the open log. Its own module so that the
 * subcommands do not import main.ts, which imports them. */
import type { Logger } from '../log.js';
import type { GlobalOptions } from './globals.js';

export interface Context {
  globals: GlobalOptions;
  log: Logger;
}
