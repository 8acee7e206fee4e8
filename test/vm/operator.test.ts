/** Operator mode: `start` on a terminal (a pty made by util-linux `script`) boots, says how to run commands,
 * serves `run` through the control socket, and stops cleanly on Ctrl-C, during the boot, and on a hangup. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import {
  assertOrderlyShutdown,
  deployTo,
  longWorkdir,
  removeTestDir,
  testImage,
  waitNoneAlive,
} from '../helpers/vm.js';

interface Terminal {
  workdir: string;
  child: ChildProcessWithoutNullStreams;
  /** Everything the terminal showed so far. */
  screen(): string;
  /** script's exit code: the runtime's (`-e`). */
  exited: Promise<number | null>;
  waitFor(text: string, ms: number): Promise<void>;
  dispose(): Promise<void>;
}

/** A deployed workdir and `start` running on a fresh pty, as an operator types it. */
async function startOnTerminal(): Promise<Terminal> {
  const { workdir, base } = await longWorkdir();
  await deployTo(workdir, testImage());
  // `script` runs the command through $SHELL. Pin it to /bin/sh (dash on Debian, as in CI) so the test is the same
  // everywhere; the command is exec'd so the runtime itself is the terminal's foreground process, as when an operator
  // types it. Without exec, dash stays in front, dies of the Ctrl-C, and `script -e` reports 130 (CI saw that).
  const child = spawn('script', ['-qfec', `exec ${process.execPath} ${CLI} --workdir ${workdir} start`, '/dev/null'], {
    cwd: workdir,
    env: { ...process.env, SHELL: '/bin/sh' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  child.stdout.on('data', (c: Buffer) => (screen += c.toString()));
  child.stderr.on('data', (c: Buffer) => (screen += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    workdir,
    child,
    screen: () => screen,
    exited,
    waitFor: (text, ms) =>
      waitFor(`"${text}" on the terminal`, () => screen.includes(text), {
        timeoutMs: ms,
        intervalMs: 20,
        detail: () => `screen:\n${screen}`,
      }),
    dispose: async () => {
      child.kill('SIGKILL');
      await removeTestDir(base);
    },
  };
}

test('start on a terminal: prints how to run commands, serves run, Ctrl-C stops the VM', async () => {
  const t = await startOnTerminal();
  const { workdir, child } = t;
  try {
    await t.waitFor('Press Ctrl-C', 90_000);
    assert.match(t.screen(), /VM ready \(accelerator: (tcg|kvm)\)/);
    assert.match(t.screen(), /run -- /);
    const r = await runCli(['--workdir', workdir, 'run', '--', '/bin/sh', '-c', 'echo via-control; exit 9'], {
      cwd: workdir,
    });
    assert.equal(r.code, 9, r.stderr);
    assert.equal(r.stdout, 'via-control\n');
    child.stdin.write('\x03'); // Ctrl-C on the terminal
    await t.waitFor('Stopping the VM', 30_000);
    child.stdin.write('\x03'); // impatient: a second Ctrl-C while the guest syncs must not kill QEMU
    assert.equal(await t.exited, 0, t.screen());
    assert.match(t.screen(), /Still stopping the VM/);
    // The runtime stopped the guest in order: the terminal did not signal QEMU and virtiofsd (our process group).
    await assertOrderlyShutdown(workdir);
    const runtimeLog = await fs.readFile(`${workdir}/logs/runtime.log`, 'utf8');
    assert.doesNotMatch(runtimeLog, /stopping the VM/, 'a helper died under the VM');
    assert.deepEqual(await waitNoneAlive(workdir, 5000), []);
    await assert.rejects(fs.stat(`${workdir}/control.sock`), /ENOENT/);
  } finally {
    await t.dispose();
  }
});

test('start on a terminal: Ctrl-C during the boot cancels it and leaves nothing running', async () => {
  const t = await startOnTerminal();
  const { workdir, child } = t;
  try {
    // QEMU is up once its log exists: the boot is under way.
    await waitFor(
      'logs/qemu.log (the boot under way)',
      () =>
        fs.stat(`${workdir}/logs/qemu.log`).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 20, detail: () => `screen:\n${t.screen()}` },
    );
    child.stdin.write('\x03');
    assert.equal(await t.exited, 130, t.screen());
    assert.match(t.screen(), /Boot cancelled; nothing is left running/);
    assert.doesNotMatch(t.screen(), /VM ready/);
    assert.deepEqual(await waitNoneAlive(workdir, 5000), []);
  } finally {
    await t.dispose();
  }
});

test('start on a terminal: a hangup (the terminal closed) still cleans up: no socket, no process left', async () => {
  const t = await startOnTerminal();
  const { workdir, child } = t;
  try {
    await t.waitFor('Press Ctrl-C', 90_000);
    assert.match(t.screen(), /VM ready/);
    child.kill('SIGKILL'); // script(1) gone: the pty's master closes and the kernel hangs the terminal up
    assert.deepEqual(await waitNoneAlive(workdir, 15_000), []);
    const gone = async (): Promise<boolean> =>
      fs.stat(`${workdir}/control.sock`).then(
        () => false,
        () => true,
      );
    await waitFor('control.sock to be removed', gone, { timeoutMs: 10_000, intervalMs: 100 });
    assert.ok(await gone(), 'control.sock removed');
    assert.match(
      await fs.readFile(`${workdir}/logs/runtime.log`, 'utf8'),
      /terminal hung up: stopping the VM[\s\S]*activity stopped/,
    );
  } finally {
    await t.dispose();
  }
});
