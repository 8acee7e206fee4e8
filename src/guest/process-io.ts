/**
 * What a guest process's output is delivered to, and how it ended: the guest client's own terms. They have the
 * same shape as OutputSink and ExitStatus of the Activity facade (src/activity-api.ts), so the activity passes its
 * callers' sinks straight through; they are declared here so that the guest layer imports nothing above it.
 */

/** Receives a process's output; the promise resolves once the chunk was delivered, and only then is credit granted
 * back to the guest (credit.ts). */
export interface OutputSink {
  stdout(chunk: Uint8Array): Promise<void>;
  stderr(chunk: Uint8Array): Promise<void>;
}

export interface ExitStatus {
  /** Exit status; 128+N when killed by signal N. */
  code: number;
  /** The signal that killed the process, or null. */
  signal: number | null;
}
