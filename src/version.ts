import { createRequire } from 'node:module';

// Two levels up from both dist/src/version.js (tsc) and dist/cli/<chunk>.js (the bundle, scripts/bundle.mjs).
const pkg: unknown = createRequire(import.meta.url)('../../package.json');
export const VERSION: string =
  typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string'
    ? pkg.version
    : '0.0.0';
