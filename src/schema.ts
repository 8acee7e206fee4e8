/**
 * The validation library for what is parsed at a boundary (image metadata, deployment.json, --volume-override,
 * control-socket params): zod's functional "mini" build. It bundles to about 30 KiB where the chained API (zod
 * classic) took about 750 KiB, all of it compiled by V8 at every start of `deploy` and `start`, which the ExeUnit
 * spawns once per activity (docs/benchmarks.md, Node cost). Mini loads no messages by default; English ones are
 * loaded here, once, so that every error names the fault as zod classic did.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

// Importers write `import * as z from '../schema.js'` and use `z.object(...)`: member accesses on a namespace
// import let the bundler keep only the functions used (a namespace object passed around would keep all of zod).
export * from 'zod/mini';
