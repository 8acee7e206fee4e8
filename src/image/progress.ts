/**
 * What `pack` reports while it works, for a progress bar (src/cli/pack-progress.ts draws it on a terminal):
 *  - fetch:   bytes skopeo has written into the temporary layout so far (the total is not known in advance);
 *  - flatten: pass 1, the layers' stored bytes read, of their total;
 *  - squash:  pass 2, the same bytes read again while sqfstar builds the filesystem from them.
 * `layer` counts from 1. Events of one phase never go back; a phase ends with an event where done is true.
 */
export type PackPhase = 'fetch' | 'flatten' | 'squash';

export interface PackProgressEvent {
  phase: PackPhase;
  bytes: number;
  /** Undefined while unknown (fetch). */
  total?: number;
  layer?: number;
  layers?: number;
  done?: boolean;
}

export type PackProgress = (e: PackProgressEvent) => void;

/** Counts stored bytes across layers for one phase and reports them (at most every `everyBytes`, and at the end). */
export class LayerProgress {
  private bytes = 0;
  private reported = -Infinity;

  constructor(
    private readonly phase: 'flatten' | 'squash',
    private readonly total: number,
    private readonly layers: number,
    private readonly report: PackProgress | undefined,
    private readonly everyBytes = 1 << 20,
  ) {}

  /** `n` more bytes of layer `layer` (from 1) were read. */
  read(layer: number, n: number): void {
    this.bytes += n;
    if (this.report && this.bytes - this.reported >= this.everyBytes) this.emit(layer, false);
  }

  finish(): void {
    this.emit(this.layers, true);
  }

  private emit(layer: number, done: boolean): void {
    this.reported = this.bytes;
    this.report?.({
      phase: this.phase,
      bytes: this.bytes,
      total: Math.max(this.total, this.bytes),
      layer,
      layers: this.layers,
      ...(done ? { done } : {}),
    });
  }
}
