import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseLogTarget, type LogTargetInput } from '../../../src/cli/log-target.js';

const base = { cwd: '/act', cacheDir: '/cache', stderrIsTTY: true };
const cases: [
  string,
  Omit<LogTargetInput, 'cwd' | 'cacheDir' | 'stderrIsTTY'> & { stderrIsTTY?: boolean },
  ReturnType<typeof chooseLogTarget>,
][] = [
  // The ExeUnit's commands: into the workdir, whatever stderr is (service mode unchanged).
  [
    'deploy without --workdir logs into the cwd',
    { command: 'deploy', stderrIsTTY: false },
    { to: 'workdir', workdir: '/act', level: 'info' },
  ],
  [
    'start with --workdir',
    { command: 'start', workdir: '/w', stderrIsTTY: false },
    { to: 'workdir', workdir: '/w', level: 'info' },
  ],
  ['start on a terminal', { command: 'start', workdir: '/w' }, { to: 'workdir', workdir: '/w', level: 'info' }],
  ['run --workdir', { command: 'run', workdir: '/w' }, { to: 'workdir', workdir: '/w', level: 'info' }],
  [
    '--log-level sets the workdir log level',
    { command: 'start', workdir: '/w', level: 'debug' },
    { to: 'workdir', workdir: '/w', level: 'debug' },
  ],
  // No workdir, on a terminal: the cache log, the terminal stays clean.
  [
    'run without --workdir on a terminal',
    { command: 'run' },
    { to: 'file', file: '/cache/logs/runtime.log', level: 'info' },
  ],
  ['test on a terminal', { command: 'test' }, { to: 'file', file: '/cache/logs/runtime.log', level: 'info' }],
  [
    'test --workdir is not an activity command',
    { command: 'test', workdir: '/w' },
    { to: 'file', file: '/cache/logs/runtime.log', level: 'info' },
  ],
  ['pack on a terminal', { command: 'pack' }, { to: 'file', file: '/cache/logs/runtime.log', level: 'info' }],
  // Asked for, or stderr not a terminal: stderr, as before.
  ['--log-level on a terminal shows the log', { command: 'run', level: 'debug' }, { to: 'stderr', level: 'debug' }],
  ['run with stderr not a terminal', { command: 'run', stderrIsTTY: false }, { to: 'stderr', level: 'warn' }],
  [
    'offer-template captured by the provider',
    { command: 'offer-template', stderrIsTTY: false },
    { to: 'stderr', level: 'warn' },
  ],
  [
    'test captured, --log-level error',
    { command: 'test', stderrIsTTY: false, level: 'error' },
    { to: 'stderr', level: 'error' },
  ],
];
for (const [name, input, want] of cases) {
  test(`log target: ${name}`, () => {
    assert.deepEqual(chooseLogTarget({ ...base, ...input }), want);
  });
}
