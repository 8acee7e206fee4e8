import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planDeployment, deployOutput } from '../../../src/deployment/plan.js';
import { parseVolumeOverride } from '../../../src/deployment/volume-override.js';
import { deploymentSchema } from '../../../src/deployment/deployment.js';

const image = {
  path: '/img.gvmi',
  size: 4096,
  config: { env: [], entrypoint: [], cmd: [], workingDir: '/', user: '' },
  volumes: ['/golem/input', '/golem/output'],
};

test('image volumes become host volumes; overrides replace and add; parents first', () => {
  const d = planDeployment({
    workdir: '/w',
    image,
    overrides: parseVolumeOverride(
      '{"/golem/output":{"ram":{"size":"1gi"}},"/golem/input/deep":{"host":{}},"/data":{"storage":{"size":"1 GB","errors":"remount-ro"}}}',
    ),
  });
  assert.deepEqual(
    d.volumes.map((v) => [v.guestPath, v.kind]),
    [
      ['/data', 'storage'],
      ['/golem/input', 'host'],
      ['/golem/output', 'ram'],
      ['/golem/input/deep', 'host'],
    ],
  );
  const out = deployOutput(d);
  assert.deepEqual(
    out.vols.map((v) => v.path),
    ['/golem/input', '/golem/input/deep'],
  );
  assert.ok(out.vols.every((v) => /^vol-[0-9a-f]{12}$/.test(v.name)));
  assert.equal(deploymentSchema.safeParse(d).success, true);
  const st = d.volumes.find((v) => v.kind === 'storage');
  assert.ok(st && st.kind === 'storage' && st.sizeBytes === 1e9 && st.errors === 'remount-ro');
});

test("volumes at the image's VOLUME paths are seeded from the image, whatever backs them; others are not", () => {
  const d = planDeployment({
    workdir: '/w',
    image,
    overrides: parseVolumeOverride('{"/golem/output":{"ram":{"size":"1gi"}},"/extra":{"host":{}}}'),
  });
  assert.deepEqual(
    d.volumes.map((v) => [v.guestPath, v.kind, v.seedFromImage ?? false]),
    [
      ['/extra', 'host', false],
      ['/golem/input', 'host', true],
      ['/golem/output', 'ram', true],
    ],
  );
  assert.equal(deploymentSchema.safeParse(d).success, true);
  assert.equal(
    deploymentSchema.safeParse({ ...d, volumes: [{ ...d.volumes[0], seedFromImage: false }] }).success,
    false,
  );
});

test('the layout is stable across re-deploys', () => {
  const a = planDeployment({ workdir: '/w', image, overrides: new Map() });
  const b = planDeployment({ workdir: '/w', image, overrides: new Map() });
  assert.deepEqual(a, b);
});

test('ram on / puts the root upper layer on tmpfs; default is an ext4 disk of --storage-gib', () => {
  const disk = planDeployment({ workdir: '/w', image, storageBytes: 2 * 1024 ** 3, overrides: new Map() });
  assert.deepEqual(disk.rootUpper, {
    kind: 'disk',
    path: '/w/disks/root-upper.img',
    serial: 'upper-0',
    sizeBytes: 2 * 1024 ** 3,
  });
  const ram = planDeployment({
    workdir: '/w',
    image,
    overrides: parseVolumeOverride('{"/":{"ram":{"size":"512 MiB"}}}'),
  });
  assert.deepEqual(ram.rootUpper, { kind: 'tmpfs', sizeBytes: 512 * 1024 ** 2 });
  assert.ok(!ram.volumes.some((v) => v.guestPath === '/'));
});

const badOverrides: [string, RegExp][] = [
  ['not json', /not valid JSON/],
  ['[1]', /expected a JSON object/],
  ['{"golem":{"host":{}}}', /"golem" is not absolute/],
  ['{"/a/../etc":{"host":{}}}', /contains "\." or "\.\." segments/],
  ['{"/":{"host":{}}}', /cannot be mounted on \//],
  ['{"/a":{"ram":{"size":"lots"}}}', /ram.size "lots" is not a size/],
  ['{"/a":{"nfs":{}}}', /expected \{"host":\{\}\}/],
  ['{"/a":{"storage":{"size":"1gi","preallocate":"2gi"}}}', /preallocate .* is larger than size/],
  ['{"/a":{"storage":{"size":"1gi","errors":"explode"}}}', /expected \{"host"/],
  ['{"/a":{"host":{"x":1}}}', /expected \{"host"/],
];
for (const [text, re] of badOverrides) {
  test(`bad --volume-override rejected: ${text}`, () => assert.throws(() => parseVolumeOverride(text), re));
}

test('resources are validated', () => {
  assert.throws(() => planDeployment({ workdir: '/w', image, cpuCores: 0, overrides: new Map() }), /--cpu-cores 0/);
  assert.throws(() => planDeployment({ workdir: '/w', image, memBytes: 1000, overrides: new Map() }), /--mem-gib/);
  assert.throws(
    () => planDeployment({ workdir: '/w', image, hostname: 'bad host', overrides: new Map() }),
    /--hostname/,
  );
});

test('volumes of one depth are ordered by code point, whatever the locale (Z before a, - before 0)', () => {
  const d = planDeployment({
    workdir: '/w',
    image: { ...image, volumes: ['/b', '/a', '/Z', '/a-1', '/a0'] },
    overrides: new Map(),
  });
  assert.deepEqual(
    d.volumes.map((v) => v.guestPath),
    ['/Z', '/a', '/a-1', '/a0', '/b'],
  );
});
