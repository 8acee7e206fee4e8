/**
 * Operator mode on a terminal: read Ctrl-C as a key instead of letting the terminal turn it into SIGINT.
 *
 * QEMU and virtiofsd stay in our process group (so that whatever ends the group ends them too). A Ctrl-C typed on
 * the terminal is sent by the kernel to the whole foreground process group, so QEMU ("terminating on signal 2") and
 * virtiofsd would die at once, before the runtime could ask the guest to stop its processes, sync its disks and
 * power off. In raw mode the terminal sends no signal; the keystroke reaches us as a byte and we stop in order.
 */
const CTRL_C = 0x03;
const CTRL_D = 0x04;

/** Calls `onStop` when Ctrl-C or Ctrl-D is typed. Returns a function that gives the terminal back as it was. */
export function takeStopKeys(stdin: NodeJS.ReadStream, onStop: () => void): () => void {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => undefined;
  const onData = (chunk: Buffer): void => {
    if (chunk.includes(CTRL_C) || chunk.includes(CTRL_D)) onStop();
  };
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    stdin.off('data', onData);
    process.off('exit', restore);
    stdin.setRawMode(false);
    stdin.pause();
  };
  stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  // Also on an exit we did not plan (an uncaught error): never leave the operator's terminal in raw mode.
  process.on('exit', restore);
  return restore;
}
