/**
 * An extracted root filesystem as data, for differential tests (test/vm/image-import-umoci.test.ts): every path
 * under a folder, walked with lstat, with what an image defines about it (type, permission bits with
 * setuid/setgid/sticky, owner, size and content hash of regular files, symlink target, device number), and a
 * comparison of two such trees that lists each difference as `path: ours vs theirs`. Mtimes are left out (an
 * extractor may stamp the folders it creates itself); hard links are compared as groups of paths sharing an inode.
 * xattrs are read with python3's os.listxattr (Node has no API for them) when python3 is there.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';

export type NodeType = 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface TreeNode {
  type: NodeType;
  /** mode & 0o7777. */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files only. */
  size?: number;
  sha256?: string;
  /** Symlinks only. */
  target?: string;
  /** Devices only: `major,minor`. */
  rdev?: string;
  /** `name=hex` sorted, `,`-joined; '' for none; absent when python3 is missing. */
  xattrs?: string;
  /** Not compared: only used to group hard links. */
  ino: number;
}

export type Tree = Map<string, TreeNode>;

function typeOf(st: fs.Stats): NodeType {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
function majorMinor(rdev: number): string {
  const r = BigInt(rdev);
  const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
  const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
  return `${major},${minor}`;
}

async function hashFile(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}

const XATTR_DUMP = `
import json, os, sys
root = sys.argv[1]
out = {}
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n)
        xs = sorted(os.listxattr(p, follow_symlinks=False))
        if xs:
            out[os.path.relpath(p, root)] = ",".join(k + "=" + os.getxattr(p, k, follow_symlinks=False).hex() for k in xs)
json.dump(out, sys.stdout)
`;

/** path → `name=hex,...` for the paths under root that have xattrs; undefined without python3. */
async function readXattrs(root: string): Promise<Map<string, string> | undefined> {
  const r = await execa('python3', ['-c', XATTR_DUMP, root], { reject: false });
  if (r.exitCode !== 0) return undefined;
  return new Map(Object.entries(JSON.parse(r.stdout) as Record<string, string>));
}

/** Every path under `root` (relative, `/`-separated; the root itself left out). */
export async function walkTree(root: string): Promise<Tree> {
  const tree: Tree = new Map();
  const xattrs = await readXattrs(root);
  const visit = async (rel: string): Promise<void> => {
    const names = (await fsp.readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(root, r);
      const st = await fsp.lstat(abs);
      const type = typeOf(st);
      const node: TreeNode = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, ino: st.ino };
      if (xattrs) node.xattrs = xattrs.get(r) ?? '';
      if (type === 'file') {
        node.size = st.size;
        node.sha256 = await hashFile(abs);
      } else if (type === 'symlink') node.target = await fsp.readlink(abs);
      else if (type === 'char' || type === 'block') node.rdev = majorMinor(st.rdev);
      tree.set(r, node);
      if (type === 'dir') await visit(r);
    }
  };
  await visit('');
  return tree;
}

/** `type mode uid:gid [size sha] [-> target] [maj,min]`: one node as the difference list shows it. */
export function showNode(n: TreeNode | undefined): string {
  if (!n) return '(missing)';
  const parts = [n.type, n.mode.toString(8).padStart(4, '0'), `${n.uid}:${n.gid}`];
  if (n.type === 'file') parts.push(`${n.size}B`, `sha256:${n.sha256!.slice(0, 12)}`);
  if (n.target !== undefined) parts.push(`-> ${n.target}`);
  if (n.rdev !== undefined) parts.push(n.rdev);
  if (n.xattrs) parts.push(`xattrs{${n.xattrs}}`);
  return parts.join(' ');
}

/** Groups (of two or more) of regular-file paths that share an inode, each sorted, as `a = b = c` strings. */
export function hardLinkGroups(tree: Tree): string[] {
  const byIno = new Map<number, string[]>();
  for (const [p, n] of tree) {
    if (n.type !== 'file') continue;
    const g = byIno.get(n.ino);
    if (g) g.push(p);
    else byIno.set(n.ino, [p]);
  }
  return [...byIno.values()]
    .filter((g) => g.length > 1)
    .map((g) => g.sort().join(' = '))
    .sort();
}

export interface CompareOptions {
  /** Names on our side only: paths that may exist on our side alone, as empty directories (pack adds them). */
  oursMayAdd?: readonly string[];
  theirName?: string;
}

/** Every difference between two trees, one readable line each; [] when they are the same. */
export function compareTrees(ours: Tree, theirs: Tree, o: CompareOptions = {}): string[] {
  const their = o.theirName ?? 'theirs';
  const diffs: string[] = [];
  const isEmptyDir = (p: string): boolean =>
    ours.get(p)?.type === 'dir' && ![...ours.keys()].some((q) => q.startsWith(`${p}/`));
  const paths = [...new Set([...ours.keys(), ...theirs.keys()])].sort();
  for (const p of paths) {
    const a = ours.get(p);
    const b = theirs.get(p);
    if (a && !b && o.oursMayAdd?.includes(p) && isEmptyDir(p)) continue;
    const sa = showNode(a);
    const sb = showNode(b);
    if (sa !== sb) diffs.push(`${p}: ours ${sa} vs ${their}'s ${sb}`);
  }
  const ga = new Set(hardLinkGroups(ours));
  const gb = new Set(hardLinkGroups(theirs));
  for (const g of ga) if (!gb.has(g)) diffs.push(`hard links ${g}: ours one inode, not ${their}'s`);
  for (const g of gb) if (!ga.has(g)) diffs.push(`hard links ${g}: ${their}'s one inode, not ours`);
  return diffs;
}
