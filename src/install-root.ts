/**
 * The folder the runtime runs from: the repository in a checkout, /usr/lib/ya-runtime-vm in the Debian package
 * (scripts/package lays it out like the repository: package.json, bin/, dist/cli/, plus guest/ and node).
 * Two levels up from both dist/src/install-root.js (tsc) and dist/cli/<chunk>.js (the bundle), as in version.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const INSTALL_ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the package's prebuilt guest lies (scripts/package); absent in a checkout. */
export const PACKAGED_GUEST_DIR: string = path.join(INSTALL_ROOT, 'guest');
