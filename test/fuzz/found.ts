/**
 * Bugs the fuzzers found in our decoders, for docs/reliability.md. Every entry names its fix and the regression
 * test or vector that keeps it fixed.
 */
export interface Found {
  target: string;
  what: string;
  fixed: boolean;
  fix: string;
  regression: string;
}

export const FOUND: Found[] = [
  {
    target: 'guest-frames',
    what:
      "the TypeScript decoder took a NUL byte in a host frame's path, argument or environment string (MOUNT, " +
      'MOUNT_ROOT, RUN), which init rejects (PE_NUL) and the encoder refuses: decode then encode threw',
    fixed: true,
    fix: '`src/guest/wire.ts`, `src/guest/frames.ts`: FieldReader.str/strlist take noNul, as init does',
    regression: '`test/unit/guest/nul-strings.test.ts`, `test/fuzz/regressions/guest-frames-491140739.json`',
  },
  {
    target: 'volume-override',
    what:
      '`--volume-override` took a numeric size past 2^53 (`{"ram":{"size":9007199254740992}}`), which a string ' +
      'size may not be and deployment.json then refuses',
    fixed: true,
    fix: '`src/deployment/sizes.ts`: parseSize bounds numbers like strings',
    regression: '`test/unit/deployment/sizes.test.ts`, `test/fuzz/regressions/volume-override-1174147513.json`',
  },
  {
    target: 'start-stdin',
    what:
      'Hello, RunProcess, EOF at once: the service ends before the RunProcess reply is written and leaves the ' +
      "process's exit unawaited; when the shutdown rejects it, the rejection is unhandled and crashes `start`. " +
      'The fuzz failure itself was in the fake activity (its programs left a failed sink write unhandled); ' +
      'reading it led to the same hole in the service and in the real activity',
    fixed: true,
    fix:
      '`src/api/process-relay.ts` handles the abandoned exit, `src/activity.ts` guards the exit it hands out; ' +
      '`test/helpers/fake-activity.ts` ends a program whose sink fails',
    regression:
      '`test/unit/api/relay-abandoned-exit.test.ts`, `test/fuzz/regressions/start-stdin--699639835.json`, ' +
      '`start-stdin-1074564769.json`',
  },
];
