/**
 * One RunProcess request, from exec to the exit event (docs/yagna-contract.md section 3.4):
 *  1. activity.exec(spec, sink); a rejection becomes the Error reply (NOT_FOUND for a missing binary);
 *  2. reply run{pid};
 *  3. each chunk the sink receives becomes ProcessStatus{pid, running: true, stdout|stderr}. Chunks delivered before
 *     the reply was written wait for it (the pid is not known earlier), so the order on the wire is always: reply,
 *     chunks, exit event. The sink's promise resolves once the event was written to the output, so a slow ExeUnit
 *     slows the guest process instead of growing a buffer here;
 *  4. after `exit` resolves and every chunk event was written: ProcessStatus{pid, running: false, return_code}.
 *     If `exit` rejects (the VM died), the last event has return_code -1 and the error chain as stderr, so the
 *     ExeUnit's command fails instead of waiting forever.
 */
import type { Logger } from 'pino';
import type { ActivityApi, ExecSpec, OutputSink, ProcessHandle } from '../activity-api.js';
import { errorChain } from '../errors.js';
import { errorReply, runReply, splitChunk, statusEvent, type Response } from './messages.js';

export type SendResponse = (response: Response) => Promise<void>;

export async function relayProcess(
  activity: ActivityApi,
  id: bigint,
  spec: ExecSpec,
  send: SendResponse,
  log: Logger,
): Promise<void> {
  let resolvePid!: (pid: number) => void;
  let rejectPid!: (err: unknown) => void;
  const pidReady = new Promise<number>((resolve, reject) => {
    resolvePid = resolve;
    rejectPid = reject;
  });
  pidReady.catch(() => {}); // a failed exec with no chunk delivered must not be an unhandled rejection

  const inFlight = new Set<Promise<void>>();
  const deliver = (stream: 'stdout' | 'stderr', chunk: Uint8Array): Promise<void> => {
    const done = (async () => {
      const pid = await pidReady;
      for (const piece of splitChunk(chunk)) {
        if (piece.length > 0) await send(statusEvent(pid, { running: true, [stream]: piece }));
      }
    })();
    inFlight.add(done);
    void done.catch(() => {}).finally(() => inFlight.delete(done));
    return done;
  };
  const sink: OutputSink = {
    stdout: (chunk) => deliver('stdout', chunk),
    stderr: (chunk) => deliver('stderr', chunk),
  };

  let handle: ProcessHandle;
  try {
    handle = await activity.exec(spec, sink);
  } catch (err) {
    log.info({ err }, 'exec failed');
    rejectPid(err);
    await send(errorReply(id, err));
    return;
  }
  const plog = log.child({ pid: handle.pid });
  try {
    await send(runReply(id, handle.pid));
  } catch (err) {
    rejectPid(err);
    // Nobody awaits the exit now (the output is closed: the service is ending), and the shutdown that follows
    // rejects it (channel closed): that rejection must not be unhandled, which would crash `start`.
    handle.exit.catch(() => {});
    throw err;
  }
  resolvePid(handle.pid);

  let last: Response;
  try {
    const status = await handle.exit;
    plog.info({ code: status.code, signal: status.signal }, 'process exited');
    last = statusEvent(handle.pid, { running: false, returnCode: status.code });
  } catch (err) {
    plog.warn({ err }, 'process lost');
    last = statusEvent(handle.pid, {
      running: false,
      returnCode: -1,
      stderr: new TextEncoder().encode(`${errorChain(err)}\n`),
    });
  }
  // `exit` resolves after the last chunk was delivered; waiting here as well keeps the exit event last even if an
  // implementation resolves it early.
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  await send(last);
}
