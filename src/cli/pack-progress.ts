/**
 * pack's progress on a terminal: one bar per phase (fetch, flatten, squash) drawn on stderr by cli-progress, in
 * bytes of the stored layers with the layer being read. Nothing is drawn when stderr is not a terminal.
 */
import cliProgress from 'cli-progress';
import type { PackProgress, PackProgressEvent } from '../image/progress.js';

const LABEL: Record<PackProgressEvent['phase'], string> = {
  fetch: 'fetch  ',
  flatten: 'flatten',
  squash: 'squash ',
};

function mb(n: number): string {
  return n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`;
}

/** A reporter that draws on `stream`, and `stop` to call when pack returns or fails. */
export function terminalProgress(stream: NodeJS.WriteStream): { report: PackProgress; stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  let phase: PackProgressEvent['phase'] | undefined;
  let most = 0;
  const end = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const report: PackProgress = (e) => {
    if (e.phase !== phase) {
      end();
      phase = e.phase;
      most = 0;
      bar = new cliProgress.SingleBar(
        {
          stream,
          hideCursor: true,
          barsize: 30,
          format:
            e.total === undefined
              ? `${LABEL[e.phase]} {done}`
              : `${LABEL[e.phase]} [{bar}] {percentage}% {done} of {all}  layer {layer}/{layers}`,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(e.total ?? 1, 0, { done: mb(0), all: mb(e.total ?? 0), layer: 1, layers: e.layers ?? 1 });
    }
    most = Math.max(most, e.bytes);
    // fetch has no total: its line shows the bytes so far, without a bar.
    if (e.total !== undefined) bar?.setTotal(e.total);
    bar?.update(e.total === undefined ? 0 : most, {
      done: mb(most),
      all: mb(e.total ?? 0),
      layer: e.layer ?? 1,
      layers: e.layers ?? 1,
    });
    if (e.done) end();
  };
  return { report, stop: end };
}
