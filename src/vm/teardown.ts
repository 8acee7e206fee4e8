/**
 * Tearing one VM down, in a fixed order: QEMU SIGTERM -> SIGKILL after `graceMs`, the agent socket closed, then each
 * virtiofsd the same way; then verify that every pid (and the children they forked) is gone, SIGKILL what lingers,
 * remove the sockets and the short symlink. Throws VmStopError (PROCESS_LINGERED) when a process survived even that.
 * It does NOT ask the guest to shut down: the caller sends SHUTDOWN over the agent first when it wants a clean exit.
 */
import fs from 'node:fs/promises';
import type net from 'node:net';
import type { Logger } from '../log.js';
import type { ShortPath } from '../unix-socket-path.js';
import { VmStopError } from './errors.js';
import { descendantsOf, procStartTime, waitPidsGone, type SupervisedChild } from './supervisor.js';

/** What a VM start has brought up so far; filled in by startVm as it goes, so a failed start tears down its part. */
export interface VmParts {
  qemu?: SupervisedChild | undefined;
  agent?: net.Socket | undefined;
  /** The virtiofsd processes. */
  helpers: SupervisedChild[];
  /** Socket files to remove (their real paths under `<workdir>/run/`). */
  sockets: string[];
  short: ShortPath;
}

export async function tearDownVm(parts: VmParts, graceMs: number, log: Logger): Promise<void> {
  const { qemu, agent, helpers, sockets, short } = parts;
  const all = [qemu, ...helpers].filter((c): c is SupervisedChild => c !== undefined);
  // Their own children too: the C virtiofsd's namespace sandbox forks a worker (it dies with its parent via
  // PR_SET_PDEATHSIG, which we verify rather than trust).
  const pids = all.filter((c) => c.running()).map((c) => c.pid);
  const tracked = [...pids, ...descendantsOf(pids)];
  // Identity = pid + start time, so a pid reused by an unrelated process is never waited for or killed.
  const started = new Map(tracked.map((p) => [p, procStartTime(p)]));
  const same = (p: number): boolean => started.get(p) !== undefined && procStartTime(p) === started.get(p);
  if (qemu) await qemu.terminate(graceMs);
  agent?.destroy();
  await Promise.all(helpers.map((h) => h.terminate(graceMs)));
  let lingering = await waitPidsGone(tracked, 2000, same);
  if (lingering.length > 0) {
    log.warn({ lingering }, 'descendants outlived their parents; sending SIGKILL');
    for (const p of lingering) {
      if (!same(p)) continue;
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    lingering = await waitPidsGone(lingering, 1000, same);
  }
  // The Rust virtiofsd also keeps a lock file, `<socket>.pid`, beside its socket, and leaves it when killed.
  for (const s of sockets) await Promise.all([fs.rm(s, { force: true }), fs.rm(`${s}.pid`, { force: true })]);
  await short.dispose();
  if (lingering.length > 0) {
    log.error({ lingering }, 'processes outlived teardown');
    throw new VmStopError(
      'PROCESS_LINGERED',
      `VM teardown left processes running after SIGKILL: pids ${lingering.join(', ')}`,
    );
  }
  log.info('VM torn down');
}
