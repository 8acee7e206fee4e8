/**
 * Polls `cond` every `intervalMs` until it holds; rejects with "timed out after N ms waiting for <what>" once
 * `timeoutMs` has passed (the condition is checked one last time at the deadline). `detail`, when given, is appended
 * to that message (a console tail, the screen, what is still left), so that a deadline that passes fails the test
 * with what it was waiting for instead of falling through to a later, vaguer assertion.
 */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number; detail?: () => string | Promise<string> } = {},
): Promise<void> {
  const { timeoutMs = 5000, intervalMs = 50, detail } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    const left = deadline - Date.now();
    if (left <= 0) break;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, left)));
  }
  if (await cond()) return;
  const more = detail ? `: ${await detail()}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more}`);
}
