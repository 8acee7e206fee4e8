/**
 * scripts/setup --check against a fake dpkg-query/apt-cache (first on PATH): what a fresh machine and a fully set-up
 * one answer. On a fresh machine dpkg-query exits 1 ("no packages found matching ..."); under `set -euo pipefail`
 * that once killed the script silently, before it listed anything (seen in a fresh Debian 13 chroot).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../../helpers/paths.js';

// Knows every name (a linux-source-* pattern as linux-source-6.1) as installed when FAKE_DPKG=all; else none.
const FAKE_DPKG_QUERY = `#!/bin/bash
[[ "\${FAKE_DPKG:-}" == all ]] || { echo "dpkg-query: no packages found matching $*" >&2; exit 1; }
fmt=""; names=()
for a in "$@"; do case "$a" in -W) ;; -f=*) fmt="\${a#-f=}" ;; *) names+=("$a") ;; esac; done
for n in "\${names[@]}"; do
  [[ "$n" == 'linux-source-*' ]] && n=linux-source-6.1
  out="\${fmt//'\${Package}'/$n}"; out="\${out//'\${db:Status-Status}'/installed}"; printf "$out"
done
`;
const FAKE_APT_CACHE = '#!/bin/bash\nexit 100\n';

async function setupCheck(state: 'none' | 'all'): Promise<{ code: number; stderr: string }> {
  const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'yrvm-fake-dpkg-'));
  try {
    await fs.writeFile(path.join(bin, 'dpkg-query'), FAKE_DPKG_QUERY, { mode: 0o755 });
    await fs.writeFile(path.join(bin, 'apt-cache'), FAKE_APT_CACHE, { mode: 0o755 });
    const r = await execa('bash', [path.join(REPO_ROOT, 'scripts', 'setup'), '--check'], {
      reject: false,
      env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, FAKE_DPKG: state },
      extendEnv: false,
    });
    return { code: r.exitCode ?? -1, stderr: String(r.stderr) };
  } finally {
    await fs.rm(bin, { recursive: true, force: true });
  }
}

test('setup --check on a fresh machine lists every missing package and the kernel source', async () => {
  const r = await setupCheck('none');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /missing packages: qemu-system-x86 qemu-utils squashfs-tools .*xz-utils/);
  assert.match(r.stderr, /missing: a linux-source-X\.Y package/);
});

test('setup --check on a set-up machine says there is nothing to do', async (t) => {
  const virtiofsd = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd'];
  const have = await Promise.all(
    virtiofsd.map((p) =>
      fs.access(p).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (!have.includes(true)) return t.skip('no virtiofsd on this host: setup would (rightly) report it missing');
  const r = await setupCheck('all');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /all system packages present \(kernel source: linux-source-6\.1\); nothing to do/);
});
