/**
 * The `start` service loop: Request frames on `input` → calls on one ActivityApi → Response frames on `output`
 * (docs/yagna-contract.md section 3). Layer 3 of the stdio protocol; framing is in frame-codec.ts, message
 * building in messages.ts, one RunProcess in process-relay.ts.
 *
 *  Hello         boot() (once; again after a failed boot), then onStartEntrypoint, then reply hello{version}.
 *                A failure is an Error reply carrying the error chain; the service keeps serving.
 *  RunProcess    relayProcess: reply run{pid}, output events, exit event last.
 *  KillProcess   activity.kill(pid, signal) → reply kill{}.
 *  Shutdown      stop reading, activity.shutdown() → reply shutdown{} → resolve SERVICE_EXIT.ok.
 *  stdin EOF     the ExeUnit is gone: activity.shutdown(), resolve SERVICE_EXIT.ok.
 *  CreateNetwork activity.createNetwork (VPN or INET interface) → reply network{udp_datagram "127.0.0.1:PORT"};
 *                a refused one (no endpoint option, a second one, malformed networks) is an Error reply.
 *  no command, or a request needing the activity before Hello: Error BAD_REQUEST.
 *  undecodable frame body: logged, Error reply with id 0, keep serving (the next frame is still aligned).
 *  bad length prefix / truncated frame / broken stdin or stdout: Error reply with id 0 (when it can still be sent),
 *                then shut down and resolve SERVICE_EXIT.streamBroken: the stream cannot be resynced.
 *
 * Requests are handled concurrently, in arrival order up to their first await: a RunProcess arriving while the
 * VM boots waits for the boot. Only frames are written to `output`; logs go to `log`. The service neither ends
 * `output` nor destroys `input`: the caller owns them and exits the process.
 */
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { ActivityApi } from '../activity-api.js';
import { errorChain } from '../errors.js';
import { ServiceRequestError, type StreamIoError } from './errors.js';
import { FrameReader, FrameWriter } from './frame-codec.js';
import {
  decodeRequest,
  encodeResponseFrame,
  errorReply,
  helloReply,
  killReply,
  NetworkInterface,
  networkReply,
  shutdownReply,
  type Request,
  type Response,
} from './messages.js';
import { relayProcess } from './process-relay.js';

export interface ServiceOptions {
  input: Readable;
  output: Writable;
  /** Boots the VM. `signal` aborts when the service ends (Shutdown, EOF) while the boot is still running. */
  boot: (signal: AbortSignal) => Promise<ActivityApi>;
  log: Logger;
  /** Runs after a successful boot, before Hello is answered (the `start-entrypoint` capability: `start` args).
   * A rejection becomes the Hello's Error reply; the booted activity stays in place for Shutdown. */
  onStartEntrypoint?: (activity: ActivityApi) => Promise<void>;
  /** Version sent in the Hello reply; default: the version the ExeUnit sent. */
  version?: string;
  /** Largest accepted request frame; default DEFAULT_MAX_FRAME_LENGTH (16 MiB). */
  maxFrameLength?: number;
}

/** Exit codes the service resolves with (the CLI passes them on). */
export const SERVICE_EXIT = {
  /** Shutdown request or stdin EOF, cleanup done. */
  ok: 0,
  /** activity.shutdown() failed; the error was logged (and sent as the Shutdown's reply). */
  cleanupFailed: 1,
  /** The frame stream broke (bad prefix, truncated frame, stdin/stdout error); cleaned up as for EOF. */
  streamBroken: 2,
} as const;

export function runService(opts: ServiceOptions): Promise<number> {
  return new Service(opts).start();
}

class Service {
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private readonly bootAbort = new AbortController();
  private activity: ActivityApi | undefined;
  private booting: Promise<ActivityApi> | undefined;
  private bootError: unknown;
  private ending: Promise<number> | undefined;
  private resolveExit!: (code: number) => void;

  constructor(private readonly opts: ServiceOptions) {
    this.reader = new FrameReader(opts.input, opts.maxFrameLength);
    this.writer = new FrameWriter(opts.output);
  }

  start(): Promise<number> {
    const exit = new Promise<number>((resolve) => (this.resolveExit = resolve));
    this.writer.onError((err) => this.streamBroken(err));
    this.reader.listen({
      frame: (body) => this.onFrame(body),
      error: (err) => {
        if (err.code !== 'INPUT_FAILED') this.sendQuietly(errorReply(0n, err));
        this.streamBroken(err);
      },
      close: () => void this.end(SERVICE_EXIT.ok),
    });
    this.opts.log.info('service started');
    return exit;
  }

  private send(response: Response): Promise<void> {
    return this.writer.write(encodeResponseFrame(response));
  }

  /** For replies nobody waits on: a failed write is already reported through writer.onError. */
  private sendQuietly(response: Response): void {
    this.send(response).catch((err: unknown) => this.opts.log.debug({ err }, 'response not sent'));
  }

  private onFrame(body: Uint8Array): void {
    let request: Request;
    try {
      request = decodeRequest(body);
    } catch (err) {
      this.opts.log.warn({ err }, 'malformed request frame');
      this.sendQuietly(errorReply(0n, err));
      return;
    }
    const log = this.opts.log.child({ id: request.id.toString() });
    this.dispatch(request, log).catch((err: unknown) => {
      log.info({ err }, 'request failed');
      this.sendQuietly(errorReply(request.id, err));
    });
  }

  private async dispatch(request: Request, log: Logger): Promise<void> {
    const { id, command } = request;
    switch (command.case) {
      case 'hello':
        log.info({ cmd: { version: command.value.version } }, 'hello');
        await this.bootOnce();
        return this.send(helloReply(id, this.opts.version ?? command.value.version));
      case 'run': {
        const { bin, args, workDir } = command.value;
        log.info({ cmd: { bin, args, workDir } }, 'run process');
        if (bin === '') throw new ServiceRequestError('BAD_RUN_REQUEST', 'RunProcess has an empty bin');
        const activity = await this.requireActivity();
        const spec = { bin, argv: args.length > 0 ? args : [bin], workDir: workDir || undefined };
        return relayProcess(activity, id, spec, (r) => this.send(r), log);
      }
      case 'kill': {
        const { pid, signal } = command.value;
        log.info({ cmd: { pid: pid.toString(), signal } }, 'kill process');
        const activity = await this.requireActivity();
        await activity.kill(Number(pid), signal);
        return this.send(killReply(id));
      }
      case 'shutdown':
        log.info('shutdown requested');
        await this.end(SERVICE_EXIT.ok, id);
        return;
      case 'network': {
        const { networks, hosts } = command.value;
        const role = command.value.interface === NetworkInterface.INET ? 'inet' : 'vpn';
        if (command.value.interface !== NetworkInterface.INET && command.value.interface !== NetworkInterface.VPN)
          throw new ServiceRequestError(
            'BAD_NETWORK_REQUEST',
            `CreateNetwork: unknown interface ${command.value.interface} (expected VPN = 0 or INET = 1)`,
          );
        log.info({ cmd: { role, networks, hosts: Object.keys(hosts).length } }, 'create network');
        const activity = await this.requireActivity();
        const answer = await activity.createNetwork({
          role,
          networks: networks.map((n) => ({ addr: n.addr, gateway: n.gateway, mask: n.mask, ifAddr: n.ifAddr })),
          hosts: { ...hosts },
        });
        return this.send(networkReply(id, answer));
      }
      default:
        throw new ServiceRequestError('REQUEST_NO_COMMAND', `request ${id} has no command this runtime knows`);
    }
  }

  /** boot() then the start entrypoint, shared by concurrent Hellos; retried by the next Hello after a failed boot. */
  private bootOnce(): Promise<ActivityApi> {
    if (this.ending) return Promise.reject(new ServiceRequestError('SHUTTING_DOWN', 'the runtime is shutting down'));
    if (!this.booting) {
      const booting = this.bootSteps();
      this.booting = booting;
      booting.catch(() => {
        if (!this.activity && this.booting === booting) this.booting = undefined;
      });
    }
    return this.booting;
  }

  private async bootSteps(): Promise<ActivityApi> {
    try {
      this.activity = await this.opts.boot(this.bootAbort.signal);
    } catch (err) {
      this.bootError = err;
      throw err;
    }
    this.bootError = undefined;
    this.opts.log.info('activity booted');
    await this.opts.onStartEntrypoint?.(this.activity);
    return this.activity;
  }

  private async requireActivity(): Promise<ActivityApi> {
    if (this.ending) throw new ServiceRequestError('SHUTTING_DOWN', 'the runtime is shutting down');
    if (this.activity) return this.activity;
    if (this.booting) {
      try {
        await this.booting;
      } catch {
        // the entrypoint may have failed after the activity was booted
      }
      if (this.activity) return this.activity;
    }
    if (this.bootError !== undefined) {
      throw new ServiceRequestError('NOT_BOOTED', `the VM failed to start: ${errorChain(this.bootError)}`, {
        reply: 'internal',
      });
    }
    throw new ServiceRequestError('NOT_STARTED', 'no Hello received yet: the VM is not started');
  }

  private streamBroken(err: StreamIoError | Error): void {
    if (this.ending) return;
    this.opts.log.error({ err }, 'frame stream broken, shutting down');
    void this.end(SERVICE_EXIT.streamBroken);
  }

  /** Stops reading, shuts the activity down (once), sends the Shutdown reply when there is one. Idempotent. */
  private end(code: number, shutdownId?: bigint): Promise<number> {
    if (!this.ending) {
      this.ending = this.cleanUp(code, shutdownId);
      void this.ending.then(this.resolveExit);
      this.reader.dispose(); // after `ending` is set: dispose() reports close(), which calls end() again
    }
    return this.ending;
  }

  private async cleanUp(code: number, shutdownId: bigint | undefined): Promise<number> {
    this.bootAbort.abort(new ServiceRequestError('SHUTTING_DOWN', 'the runtime is shutting down'));
    await this.booting?.catch(() => undefined);
    let exitCode = code;
    let reply: Response | undefined = shutdownId === undefined ? undefined : shutdownReply(shutdownId);
    try {
      await this.activity?.shutdown();
      this.opts.log.info('activity shut down');
    } catch (err) {
      this.opts.log.error({ err }, 'activity shutdown failed');
      if (exitCode === SERVICE_EXIT.ok) exitCode = SERVICE_EXIT.cleanupFailed;
      if (shutdownId !== undefined) reply = errorReply(shutdownId, err);
    }
    if (reply) await this.send(reply).catch((err: unknown) => this.opts.log.warn({ err }, 'shutdown reply not sent'));
    this.writer.close('the service has ended');
    await this.writer.flushed();
    this.opts.log.info({ exitCode }, 'service ended');
    return exitCode;
  }
}
