/**
 * Layers → one tar of the merged root filesystem, each path once, for sqfstar (docs/image-import.md, "Flattening").
 *
 * Invariants (what wins when layers touch the same path; OCI image-spec layer.md, "Applying Changesets", and what
 * Docker, containerd and umoci do when they apply a layer):
 *  1. Layers apply bottom to top; within a layer in tar order, except opaque markers, which apply first.
 *  2. `D/.wh..wh..opq` hides every lower-layer child of D, wherever the marker stands in the layer's tar; D stays.
 *     `D/.wh.NAME` deletes NAME (a file, or a directory with everything under it) if a lower layer made it; what the
 *     same layer wrote there stays; D is a folder in this layer, as for any entry (rules 3, 4). Neither marker is itself in the result; other `.wh..wh.*` names (AUFS metadata)
 *     are dropped; a bare `.wh.` is an error.
 *  3. Paths are taken literally, as each layer is applied on its own and the layers are then stacked (Docker's
 *     overlay2 and containerd's overlayfs snapshotter, and so what `docker run` and `docker export` show): a symlink
 *     in a lower layer is not followed by a later layer's path through it. With `lib -> usr/lib` below, a later
 *     `lib/foo` makes `lib` a directory holding `foo` (rule 4). umoci, which unpacks every layer into one folder,
 *     follows such symlinks instead; docker build never writes such layers (a COPY through a symlink lands on the
 *     resolved path).
 *  4. An entry on an existing path: a directory onto a directory changes the directory's attributes only (its
 *     children stay); anything else deletes what was there (a whole subtree for a directory) and puts the entry there.
 *     A path under a non-directory (not a symlink: see 3) replaces it by a directory.
 *  5. A hard link takes the inode its target has *when the link is applied*: it keeps that content even when a later
 *     entry replaces or deletes the target. Paths that end up sharing one inode are written as one file and hard
 *     links to it; a link to a path that does not exist then is an error.
 *  6. Owners (numbers), modes (setuid, setgid, sticky included), mtimes, xattrs, symlink targets and device numbers
 *     are kept as the winning entry has them. A member path that leaves the root (`..`) is an error.
 *  7. `/proc`, `/sys`, `/dev` and `/tmp` are added when missing (init mounts on them).
 * Output order (sqfstar's needs: it crashes on a hard link before its target and keeps the first of duplicate
 * paths): every directory first, parents before children; then the other entries, each inode's first path with its
 * content followed by its other paths as hard links.
 *
 * Two passes over the layers, so memory holds entry headers, never contents: pass 1 reads headers only and builds
 * the final tree; pass 2 streams the layers again and writes each winning entry as it passes by.
 */
import path from 'node:path';
import { PackError } from '../errors.js';
import type { TarEntry } from '../tar/reader.js';
import type { TarWriter } from '../tar/writer.js';
import { layerMembers } from './layer-stream.js';
import type { LayerRef } from './resolve.js';
import { LayerProgress, type PackProgress } from '../progress.js';

type Meta = Omit<TarEntry, 'path'>;

/** Where an inode's content comes from: entry `index` of layer `layer`. */
interface Src {
  layer: number;
  index: number;
}

interface Node {
  meta: Meta;
  /** For everything but directories. */
  src?: Src;
  /** The layer that put the node there (a whiteout deletes only what lower layers made). */
  layer: number;
}

/** Longest member path or link target (PATH_MAX): also bounds the depth of the tree. */
const MAX_PATH_BYTES = 4096;

/** Files read during pass 1 because the metadata needs them (User names). */
const CAPTURE = new Set(['etc/passwd', 'etc/group']);
const MAX_CAPTURE = 1024 * 1024;

const REQUIRED_DIRS: [string, number][] = [
  ['proc', 0o555],
  ['sys', 0o555],
  ['dev', 0o755],
  ['tmp', 0o1777],
];

function implicitDir(mode = 0o755): Meta {
  return {
    type: 'directory',
    mode,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: 0,
    size: 0,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
  };
}

/** `./a//b/` → `a/b`; '' for the root; throws for a path that leaves the root. */
export function layerPath(p: string, what: string): string {
  if (Buffer.byteLength(p) > MAX_PATH_BYTES)
    throw new PackError(
      'PACK_BAD_LAYER',
      `${what}: a path of ${Buffer.byteLength(p)} bytes (at most ${MAX_PATH_BYTES})`,
    );
  if (p.includes('\0')) throw new PackError('PACK_BAD_LAYER', `${what}: ${JSON.stringify(p)} has a NUL byte`);
  const n = path.posix.normalize(`/${p}`).slice(1).replace(/\/+$/, '');
  const raw = p.split('/');
  if (raw.includes('..'))
    throw new PackError('PACK_PATH_ESCAPE', `${what}: ${JSON.stringify(p)} leaves the root filesystem`);
  return n;
}

class Tree {
  readonly nodes = new Map<string, Node>();
  private readonly children = new Map<string, Set<string>>([['', new Set()]]);

  private parentOf(p: string): string {
    const i = p.lastIndexOf('/');
    return i < 0 ? '' : p.slice(0, i);
  }

  /** Deletes p and, for a directory, everything under it. */
  remove(p: string): void {
    if (!this.nodes.has(p)) return;
    for (const c of [...(this.children.get(p) ?? [])]) this.remove(c);
    this.children.delete(p);
    this.nodes.delete(p);
    this.children.get(this.parentOf(p))?.delete(p);
  }

  removeChildren(dir: string): void {
    for (const c of [...(this.children.get(dir) ?? [])]) this.remove(c);
  }

  /** Every ancestor of p is a directory (rule 4: a non-directory in the way is replaced). */
  ensureParents(p: string): void {
    const parent = this.parentOf(p);
    if (parent === '') return;
    const n = this.nodes.get(parent);
    if (n?.meta.type === 'directory') return;
    this.ensureParents(parent);
    if (n) this.remove(parent);
    this.put(parent, { meta: implicitDir(), layer: -1 });
  }

  put(p: string, node: Node): void {
    this.ensureParents(p);
    const old = this.nodes.get(p);
    if (old && !(old.meta.type === 'directory' && node.meta.type === 'directory')) this.remove(p);
    this.nodes.set(p, node);
    this.children.get(this.parentOf(p))!.add(p);
    if (node.meta.type === 'directory' && !this.children.has(p)) this.children.set(p, new Set());
  }
}

interface LayerEntry {
  index: number;
  path: string;
  meta: Meta;
}

function metaOf(e: TarEntry): Meta {
  const { path: _p, ...meta } = e;
  void _p;
  return meta;
}

export interface FlattenPlan {
  /** Directory paths in output order, with their attributes. */
  dirs: [string, Meta][];
  /** Per layer, per entry index: the paths written from that entry (the first with content, the rest as links). */
  emits: Map<number, Map<number, string[]>>;
  /** Per inode source key `layer:index`: its metadata. */
  metaOf: Map<string, Meta>;
  /** Content of the final /etc/passwd and /etc/group, when they are regular files. */
  captured: Map<string, string>;
  paths: number;
  /** How many paths of the result lie under the folder `dir` (no leading `/`). */
  countUnder(dir: string): number;
}

/** Pass 1: headers only; returns what pass 2 writes. */
export async function planFlatten(layers: readonly LayerRef[], progress?: PackProgress): Promise<FlattenPlan> {
  const read = layerProgress('flatten', layers, progress);
  const tree = new Tree();
  const capturedBySrc = new Map<string, string>();
  const metaBySrc = new Map<string, Meta>();
  for (const [li, layer] of layers.entries()) {
    const entries: LayerEntry[] = [];
    let index = 0;
    for await (const m of layerMembers(layer, 'all', (n) => read.read(li + 1, n))) {
      const i = index++;
      const p = layerPath(m.entry.path, layer.what);
      if (p === '') continue; // the root's own entry: sqfstar gets the root's attributes from its options
      const meta = metaOf(m.entry);
      entries.push({ index: i, path: p, meta });
      if (CAPTURE.has(p) && meta.type === 'file' && meta.size <= MAX_CAPTURE) {
        const chunks: Buffer[] = [];
        for await (const c of m.body) chunks.push(c);
        capturedBySrc.set(`${li}:${i}`, Buffer.concat(chunks).toString('utf8'));
      }
    }
    applyLayer(tree, entries, li, layer.what, metaBySrc);
  }
  read.finish();
  // Missing, or a file or device in the way: init mounts a filesystem there. A symlink (tmp -> var/tmp) is kept.
  for (const [p, mode] of REQUIRED_DIRS) {
    const t = tree.nodes.get(p)?.meta.type;
    if (t !== 'directory' && t !== 'symlink') tree.put(p, { meta: implicitDir(mode), layer: -1 });
  }

  const dirs: [string, Meta][] = [];
  const groups = new Map<string, string[]>();
  for (const [p, n] of tree.nodes) {
    if (n.meta.type === 'directory') dirs.push([p, n.meta]);
    else {
      const key = `${n.src!.layer}:${n.src!.index}`;
      const g = groups.get(key);
      if (g) g.push(p);
      else groups.set(key, [p]);
    }
  }
  dirs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const emits = new Map<number, Map<number, string[]>>();
  for (const [key, ps] of groups) {
    const [l, i] = key.split(':').map(Number) as [number, number];
    ps.sort();
    if (!emits.has(l)) emits.set(l, new Map());
    emits.get(l)!.set(i, ps);
  }
  const captured = new Map<string, string>();
  for (const p of CAPTURE) {
    const n = tree.nodes.get(p);
    const text = n?.src ? capturedBySrc.get(`${n.src.layer}:${n.src.index}`) : undefined;
    if (text !== undefined) captured.set(p, text);
  }
  const countUnder = (dir: string): number => {
    const prefix = `${dir.replace(/^\/+|\/+$/g, '')}/`;
    let n = 0;
    for (const p of tree.nodes.keys()) if (p.startsWith(prefix)) n++;
    return n;
  };
  return { dirs, emits, metaOf: metaBySrc, captured, paths: tree.nodes.size, countUnder };
}

function applyLayer(tree: Tree, entries: LayerEntry[], li: number, what: string, metaBySrc: Map<string, Meta>): void {
  const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
  const dirOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
  // Rule 2: opaque markers before the layer's own entries.
  for (const e of entries) if (base(e.path) === '.wh..wh..opq') tree.removeChildren(dirOf(e.path));
  for (const e of entries) {
    const b = base(e.path);
    if (b.startsWith('.wh..wh.')) continue;
    if (b.startsWith('.wh.')) {
      if (b === '.wh.') throw new PackError('PACK_BAD_LAYER', `${what}: ${JSON.stringify(e.path)} is a bare whiteout`);
      const d = dirOf(e.path);
      const victim = d === '' ? b.slice(4) : `${d}/${b.slice(4)}`;
      // The whiteout lives in its folder in this layer, which hides a lower non-folder there (rule 3).
      tree.ensureParents(victim);
      const n = tree.nodes.get(victim);
      if (n && n.layer < li) tree.remove(victim);
      continue;
    }
    const p = e.path;
    if (e.meta.type === 'hardlink') {
      const target = layerPath(e.meta.linkname, what);
      const t = tree.nodes.get(target);
      if (!t || t.meta.type === 'directory')
        throw new PackError(
          'PACK_BAD_LAYER',
          `${what}: hard link ${JSON.stringify(e.path)} to ${JSON.stringify(e.meta.linkname)}, which ${t ? 'is a directory' : 'does not exist'}`,
        );
      if (target !== p) tree.put(p, { meta: t.meta, src: t.src!, layer: li });
      continue;
    }
    if (e.meta.type === 'directory') {
      tree.put(p, { meta: e.meta, layer: li });
      continue;
    }
    const src = { layer: li, index: e.index };
    metaBySrc.set(`${li}:${e.index}`, e.meta);
    tree.put(p, { meta: e.meta, src, layer: li });
  }
}

/**
 * Owner names are dropped: sqfstar looks a name up in the *host's* passwd before it uses the number, so a layer's
 * `root`/`www-data` would be mapped through this machine's users. Images keep numeric owners.
 */
function numericOwners(meta: Meta): Meta {
  return { ...meta, uname: '', gname: '' };
}

/** Pass 2: writes the plan's tree into `out`: directories, then each inode as the layers stream by. */
export async function writeFlattened(
  layers: readonly LayerRef[],
  plan: FlattenPlan,
  out: TarWriter,
  progress?: PackProgress,
): Promise<void> {
  const read = layerProgress('squash', layers, progress);
  for (const [p, meta] of plan.dirs) await out.add({ ...numericOwners(meta), path: p, size: 0 });
  for (const [li, layer] of layers.entries()) {
    const emits = plan.emits.get(li);
    let index = 0;
    let written = 0;
    for await (const m of layerMembers(layer, 'blob', (n) => read.read(li + 1, n))) {
      const i = index++;
      const ps = emits?.get(i);
      if (!ps) continue;
      const known = plan.metaOf.get(`${li}:${i}`);
      const meta = known && numericOwners(known);
      if (!meta || meta.type !== m.entry.type || meta.size !== m.entry.size)
        throw new PackError('PACK_BAD_LAYER', `${layer.what}: changed between two reads (entry ${i}, ${m.entry.path})`);
      const [first, ...links] = ps as [string, ...string[]];
      await out.add({ ...meta, path: first }, meta.type === 'file' ? m.body : undefined);
      for (const l of links) await out.add({ ...meta, type: 'hardlink', path: l, linkname: first, size: 0 });
      written++;
    }
    if (written !== (emits?.size ?? 0))
      throw new PackError(
        'PACK_BAD_LAYER',
        `${layer.what}: changed between two reads (${written} of ${emits?.size} entries)`,
      );
  }
  read.finish();
}

function layerProgress(
  phase: 'flatten' | 'squash',
  layers: readonly LayerRef[],
  progress: PackProgress | undefined,
): LayerProgress {
  return new LayerProgress(
    phase,
    layers.reduce((n, l) => n + l.size, 0),
    layers.length,
    progress,
  );
}
