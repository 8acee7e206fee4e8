/**
 * The layered fixture of the image-import tests (docs/image-import.md, "Flattening"): three layers that exercise
 * every rule, and the tree they must flatten to. Used by the unit tests (every source format) and the umoci
 * comparison.
 */
import type { FixtureEntry } from './oci-builder.js';

/** `setcap cap_net_raw+ep`: vfs_cap_data revision 2 with the effective flag, CAP_NET_RAW (13) permitted. */
export const CAP = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

export const FIXTURE_LAYERS: FixtureEntry[][] = [
  [
    { path: 'etc', type: 'directory' },
    { path: 'etc/keep', content: 'lower etc file\n' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n' },
    { path: 'etc/group', content: 'root:x:0:\napp:x:1001:\n' },
    { path: 'data', type: 'directory', mode: 0o750, uid: 1000, gid: 1001 },
    { path: 'data/b', content: 'deleted by a whiteout\n' },
    { path: 'data/sub', type: 'directory' },
    { path: 'data/sub/a', content: 'deleted with its folder\n' },
    { path: 'usr/bin', type: 'directory' },
    { path: 'usr/bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
    {
      path: 'usr/bin/ping',
      content: 'binary',
      mode: 0o755,
      xattrs: { 'security.capability': CAP, 'user.note': Buffer.from('text') },
    },
    { path: 'usr/bin/sh-link', type: 'symlink', linkname: '../../bin/sh' },
    { path: 'dev', type: 'directory' },
    { path: 'dev/mydev', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
    { path: 'home/app/f', content: 'owned\n', uid: 1000, gid: 1001, mode: 0o600 },
    { path: 'lib/target', content: 'T1' },
    { path: 'x/file-to-dir', content: 'a file that becomes a folder' },
    { path: 'y/dir-to-file', type: 'directory' },
    { path: 'y/dir-to-file/c', content: 'goes with its folder' },
    { path: 'tmp', type: 'directory', mode: 0o1777 },
  ],
  [
    { path: 'lib/link', type: 'hardlink', linkname: 'lib/target' },
    { path: 'lib/link2', type: 'hardlink', linkname: 'lib/target' },
    { path: 'data/.wh.b' },
    { path: 'data/.wh.sub' },
    // The opaque marker after the layer's own entry in that folder: it still hides only the lower ones.
    { path: 'etc/new', content: 'upper etc file\n' },
    { path: 'etc/.wh..wh..opq' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n' },
    { path: 'etc/group', content: 'root:x:0:\napp:x:1001:\n' },
    { path: 'usr/.wh..wh.plnk' },
  ],
  [
    // The link keeps T1 although its target goes.
    { path: 'lib/.wh.target' },
    { path: 'x/file-to-dir', type: 'directory', mode: 0o700 },
    { path: 'x/file-to-dir/inner', content: 'inside' },
    { path: 'y/dir-to-file', content: 'a folder that became a file' },
  ],
];

/** `type mode uid:gid size [-> link]` per path of the flattened fixture (what unsquashfs -lln shows). */
export const FIXTURE_TREE: Record<string, string> = {
  data: 'd 750 1000:1001',
  dev: 'd 755 0:0',
  'dev/mydev': 'c 666 0:0 1,3',
  etc: 'd 755 0:0',
  'etc/group': '- 644 0:0 22',
  'etc/new': '- 644 0:0 15',
  'etc/passwd': '- 644 0:0 68',
  home: 'd 755 0:0',
  'home/app': 'd 755 0:0',
  'home/app/f': '- 600 1000:1001 6',
  lib: 'd 755 0:0',
  'lib/link': '- 644 0:0 2',
  'lib/link2': '- 644 0:0 2',
  proc: 'd 555 0:0',
  sys: 'd 555 0:0',
  tmp: 'd 1777 0:0',
  usr: 'd 755 0:0',
  'usr/bin': 'd 755 0:0',
  'usr/bin/ping': '- 755 0:0 6',
  'usr/bin/sh-link': 'l 777 0:0 12 -> ../../bin/sh',
  'usr/bin/tool': '- 4755 0:0 10',
  x: 'd 755 0:0',
  'x/file-to-dir': 'd 700 0:0',
  'x/file-to-dir/inner': '- 644 0:0 6',
  y: 'd 755 0:0',
  'y/dir-to-file': '- 644 0:0 27',
};

export const FIXTURE_CONFIG = {
  Env: ['PATH=/usr/bin:/bin', 'MODE=image'],
  Cmd: ['/usr/bin/tool'],
  WorkingDir: '/data',
  User: 'app',
  Volumes: { '/data': {} },
  Labels: { 'org.example.kind': 'fixture' },
  ExposedPorts: { '8080/tcp': {} },
};
