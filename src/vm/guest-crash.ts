/**
 * Finds a guest kernel crash in the serial console: the first line of an oops or panic report. The guest kernel
 * has no kallsyms, so its traces are raw addresses; scripts/decode-console-trace maps them with the System.map
 * kept beside the kernel.
 *
 * What counts: `BUG: ...` (e.g. "BUG: kernel NULL pointer dereference, address: 0000000000000000"), `kernel BUG at
 * ...`, `Oops: ...`, `general protection fault...`, `Kernel panic - not syncing: ...` (also what init's own exit
 * gives: "Attempted to kill init!"). Warnings (`WARNING:`) are not crashes: the guest goes on after them.
 */

const CRASH_LINE =
  /^(?:<\d>)?(?:\[\s*\d+\.\d+\]\s*)?((?:BUG: |kernel BUG at |Oops: |general protection fault|Kernel panic - ).*)$/m;

/** The first crash line in `consoleText` (without a printk timestamp), or undefined if the guest did not crash. */
export function findGuestCrash(consoleText: string): string | undefined {
  const m = CRASH_LINE.exec(consoleText);
  return m?.[1]?.trim();
}

/** How a crash is reported, for the commands in flight and for every later one: "guest kernel panic: <line>". */
export function describeGuestCrash(line: string): string {
  return `guest kernel panic: ${line}`;
}
