// Bundles the compiled CLI (dist/src/cli/main.js, from tsc) and its dependencies into dist/cli/, which is what
// bin/ya-runtime-vm runs. Why: Node 20 loads ES modules file by file, and the CLI's dependencies are hundreds of
// small files; `deploy` and `start` are spawned once per activity, so that loading sat on every cold start
// (docs/benchmarks.md, Node cost). Subcommands stay lazily imported: code splitting keeps them in their own chunks.
// tsc stays the compiler and type checker; esbuild only joins its output.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'dist/src/cli/main.js');
const outdir = path.join(root, 'dist/cli');
if (!fs.existsSync(entry)) {
  console.error(`bundle: ${entry} is missing: run tsc first (npm run build does both)`);
  process.exit(1);
}
fs.rmSync(outdir, { recursive: true, force: true });

// pino requires its transport machinery at load time: thread-stream, which loads worker_threads, assert and more,
// on every start of every command. We never use transports (src/log.ts writes with pino.destination), so the
// bundle gets a stand-in that fails loudly should anyone ever ask for one.
const noTransports = {
  name: 'no-pino-transports',
  setup(b) {
    b.onResolve({ filter: /^thread-stream$/ }, () => ({ path: 'thread-stream', namespace: 'yrvm-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'yrvm-stub' }, () => ({
      contents:
        "module.exports = class ThreadStream { constructor() { throw new Error('pino transports are not in the ya-runtime-vm bundle (scripts/bundle.mjs)'); } };",
      loader: 'js',
    }));
  },
};
await build({
  entryPoints: [entry],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [noTransports],
  // CommonJS dependencies (vscode-jsonrpc, pino, commander) call require(); an ES module bundle has none of its own.
  banner: { js: "import { createRequire as __yrvmCreateRequire } from 'node:module'; const require = __yrvmCreateRequire(import.meta.url);" },
});
