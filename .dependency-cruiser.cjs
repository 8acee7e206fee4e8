/**
 * Module boundaries of src/ (issue 11). `npm test` and `npm run lint:deps` check them.
 *
 *   cli        -> api, control, activity (facade), deployment, image, network (endpoint options), shared
 *   api,control -> the Activity facade (activity.ts, activity-api.ts), shared
 *   activity   -> vm, guest, deployment, exec, image (reading a file out of the image), network, shared
 *   deployment -> image, shared
 *   exec       -> shared
 *   image, vm, guest, network -> shared only
 *
 * "shared" are the leaves everyone may use: errors, log, schema, version, install-root, capabilities, cache-dir, write-queue,
 * unix-socket-path, net-address. Type-only imports count (tsPreCompilationDeps), so a cycle through `import type` is a cycle.
 */
const SHARED = '^src/(errors|log|schema|version|install-root|capabilities|cache-dir|unix-socket-path|write-queue|net-address)[.]ts$';
const FACADE = '^src/(activity|activity-api|activity-errors)[.]ts$';

/** A rule: modules under `from` may import only what matches `allowed` (their own folder is always allowed). */
function onlyMay(name, from, allowed) {
  return {
    name,
    severity: 'error',
    comment: `${from} may import only: its own folder, ${allowed.join(', ')}`,
    from: { path: from },
    to: { path: '^src/', pathNot: ['^src/$1/', SHARED, ...allowed] },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    onlyMay('cli-layer', '^src/(cli)/', ['^src/(api|control|deployment|image|network)/', FACADE]),
    onlyMay('api-layer', '^src/(api)/', [FACADE]),
    onlyMay('control-layer', '^src/(control)/', [FACADE]),
    onlyMay('deployment-layer', '^src/(deployment)/', ['^src/image/']),
    onlyMay('exec-layer', '^src/(exec)/', []),
    onlyMay('image-layer', '^src/(image)/', []),
    onlyMay('vm-layer', '^src/(vm)/', []),
    onlyMay('guest-layer', '^src/(guest)/', []),
    onlyMay('network-layer', '^src/(network)/', []),
    {
      name: 'facade-layer',
      severity: 'error',
      comment:
        'The Activity facade (activity.ts) may import vm, guest, deployment, exec, image, network and the shared leaves.',
      from: { path: FACADE },
      to: { path: '^src/', pathNot: [FACADE, SHARED, '^src/(vm|guest|deployment|exec|image|network)/'] },
    },
    {
      name: 'activity-api-is-types',
      severity: 'error',
      comment: 'activity-api.ts is the facade contract the front-ends share; it imports nothing of the project.',
      from: { path: '^src/activity-api[.]ts$' },
      to: { path: '^src/', pathNot: ['^src/activity-api[.]ts$'] },
    },
    {
      name: 'shared-leaves',
      severity: 'error',
      comment: 'The shared leaves import only each other.',
      from: { path: SHARED },
      to: { path: '^src/', pathNot: [SHARED] },
    },
    {
      name: 'src-not-test',
      severity: 'error',
      comment: 'Production code never imports tests or their helpers.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
