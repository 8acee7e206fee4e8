/**
 * Operator mode on a terminal: read Ctrl-C as a key instead of letting the terminal turn it into SIGINT.
 *
 * QEMU and virtiofsd stay in our process group (so that whatever ends the group ends them too). A Ctrl-C typed on
 * the terminal is sent by the kernel to the whole foreground process group, so QEMU ("terminating on signal 2") and
 * virtiofsd would die at once, before the runtime could ask the guest to stop its processes, sync its disks and
 * power off. In raw mode the terminal sends no signal; the keystroke reaches us as a byte and we stop in order.
 *
 * Only a foreground process may change the terminal's mode: one started with `&` would be stopped by SIGTTOU.
 * There the terminal is left alone (and a Ctrl-C, once it is brought to the foreground, is a signal again).
 */
import fs from 'node:fs';

const CTRL_C = 0x03;
const CTRL_D = 0x04;

/** True when this process's group owns its controlling terminal (`pgrp == tpgid` in /proc/self/stat). */
export function inForeground(stat: string = fs.readFileSync('/proc/self/stat', 'utf8')): boolean {
  // After the command name (in parentheses, may hold spaces): state ppid pgrp session tty_nr tpgid ...
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(f[2]);
  const tpgid = Number(f[5]);
  return Number.isInteger(pgrp) && pgrp > 0 && pgrp === tpgid;
}

/**
 * Calls `onKey` each time Ctrl-C or Ctrl-D is typed (the caller decides what a second press means). Returns a
 * function that gives the terminal back as it was; it is a no-op when the terminal was not taken.
 */
export function takeStopKeys(stdin: NodeJS.ReadStream, onKey: () => void): () => void {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function' || !inForeground()) return () => undefined;
  const onData = (chunk: Buffer): void => {
    if (chunk.includes(CTRL_C) || chunk.includes(CTRL_D)) onKey();
  };
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    stdin.off('data', onData);
    process.off('exit', restore);
    try {
      stdin.setRawMode(false);
    } catch {
      // the terminal is gone (hangup): nothing to give back
    }
    stdin.pause();
  };
  stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  // Also on an exit we did not plan (an uncaught error): never leave the operator's terminal in raw mode.
  process.on('exit', restore);
  return restore;
}
