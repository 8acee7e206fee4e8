/**
 * A real image registry for tests: Debian's docker-registry serving from a folder, on a free loopback port, and
 * skopeo to push an OCI layout into it. `missingRegistryTool` names what is not installed (the tests then skip or
 * say so).
 */
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs/promises';
import { execa, execaSync } from 'execa';
import { waitFor } from './wait.js';

export const missingRegistryTool: string | undefined = ['docker-registry', 'skopeo'].find(
  (t) => execaSync('sh', ['-c', `command -v ${t}`], { reject: false }).exitCode !== 0,
);

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface LocalRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** Pushes `oci:<layout>:<tag>` to `docker://<host>/<name>`; returns that reference. */
  push(layout: string, tag: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts docker-registry with its storage under `dir`, and waits until it listens. */
export async function startRegistry(dir: string): Promise<LocalRegistry> {
  const port = await freePort();
  const config = path.join(dir, 'registry.yml');
  await fs.writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/storage\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = execa('docker-registry', ['serve', config], { reject: false, stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await child.catch(() => undefined);
  };
  try {
    await waitFor(
      'the registry to listen',
      async () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(!!s.end()));
          s.on('error', () => resolve(false));
        }),
      { timeoutMs: 15_000 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const host = `127.0.0.1:${port}`;
  return {
    host,
    push: async (layout, tag, name) => {
      const ref = `docker://${host}/${name}`;
      await execa('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, ref]);
      return ref;
    },
    stop,
  };
}
