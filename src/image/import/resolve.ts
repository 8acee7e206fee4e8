/**
 * From `pack`'s SOURCE to an image: its config and its layers, bottom first (docs/image-import.md, "Sources").
 *
 *   oci:DIR[:TAG]            an OCI image layout folder
 *   oci-archive:FILE[:TAG]   the same in a tar
 *   docker-archive:FILE[:REPO:TAG]  a `docker save` tar (classic, or Docker 25+ with an OCI layout inside)
 *   docker://REPO[:TAG|@DIGEST]     an image in a registry, fetched by skopeo into a temporary OCI layout
 *   DIR                      an OCI layout if it has `oci-layout`, else a root filesystem folder
 *   FILE                     sniffed: a `docker save` tar (has manifest.json), an OCI layout tar (oci-layout +
 *                            index.json), else a root filesystem tar (plain, gzip or zstd)
 *
 * `docker save` archives are read through manifest.json when they have one (Docker 25.0.0 wrote OCI manifests with
 * no layers, and saves by digest left index.json without the manifest), else through index.json. Indexes are
 * followed into nested indexes; attestation manifests are skipped; among platform manifests linux/amd64 is taken.
 * The platform is then checked again from the image config itself, which every path has: anything but linux/amd64
 * is refused (Golem providers run amd64 guests).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ImageToolError, PackError } from '../errors.js';
import { DirStore, TarStore, isDirectory, type BlobStore } from './blob-store.js';
import {
  dockerManifestSchema,
  imageJsonSchema,
  indexSchema,
  LAYER_MEDIA_TYPES,
  manifestSchema,
  MEDIA,
  type Descriptor,
  type ImageJson,
} from './oci-schema.js';
import * as z from '../../schema.js';
import type { PackProgress } from '../progress.js';

export interface LayerRef {
  /** Names the layer in messages: `layer 2 of 5 (sha256:0123456789ab)`. */
  what: string;
  /** The blob's bytes as stored (maybe compressed). */
  open(): NodeJS.ReadableStream;
  /** Bytes stored (what open() yields), for progress. */
  size: number;
  /** sha256 of the stored bytes, when the source names it (OCI descriptors, Docker 25+ blob paths). */
  blobDigest?: string;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids), when known. */
  diffId?: string;
}

export type ResolvedSource = (
  | { kind: 'rootfs-dir'; dir: string }
  | { kind: 'image'; what: string; config: ImageJson | undefined; configDigest?: string; layers: LayerRef[] }
) & {
  /** Removes what resolving made (a registry image's temporary layout); call when done with the layers. */
  cleanup?: () => Promise<void>;
};

/** How `docker://` sources are fetched (skopeo's options for the source side). */
export interface RegistryOptions {
  /** false: plain HTTP or an unverified certificate (a local registry). */
  tlsVerify?: boolean;
  /** Credentials file (skopeo's --authfile); default: skopeo's usual places. */
  authFile?: string;
}

const AMD64 = 'linux/amd64';

function platformOf(p: { os: string; architecture: string; variant?: string | undefined }): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function short(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** Parses an OCI / docker JSON document against its schema; throws PackError PACK_BAD_MANIFEST. */
export function parseJson<T>(bytes: Buffer, schema: z.ZodMiniType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new PackError('PACK_BAD_MANIFEST', `${what} is not JSON`, { cause: err });
  }
  const r = z.safeParse(schema, value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PackError(
      'PACK_BAD_MANIFEST',
      `${what}: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid'}`,
    );
  }
  return r.data;
}

async function readJson<T>(store: BlobStore, rel: string, schema: z.ZodMiniType<T>, what: string): Promise<T> {
  if (!store.has(rel)) throw new PackError('PACK_MISSING_BLOB', `${store.what}: ${what} ${rel} is missing`);
  return parseJson(await store.readBytes(rel), schema, `${store.what}: ${what} ${rel}`);
}

function sha256(bytes: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/** A blob read whole and checked against its digest (JSON documents). */
async function readBlobJson<T>(store: BlobStore, d: Descriptor, schema: z.ZodMiniType<T>, what: string): Promise<T> {
  const rel = blobPath(d.digest);
  if (!store.has(rel))
    throw new PackError('PACK_MISSING_BLOB', `${store.what}: ${what} names blob ${d.digest}, which is not there`);
  const bytes = await store.readBytes(rel);
  const got = sha256(bytes);
  if (got !== d.digest)
    throw new PackError('PACK_DIGEST_MISMATCH', `${store.what}: blob ${d.digest} (${what}) has digest ${got}`);
  return parseJson(bytes, schema, `${store.what}: ${what} ${d.digest}`);
}

function checkPlatform(config: ImageJson, what: string): void {
  const p = platformOf(config);
  if (config.os !== 'linux' || config.architecture !== 'amd64')
    throw new PackError(
      'PACK_PLATFORM',
      `${what}: the image is ${p}; Golem providers run ${AMD64} guests (build it with --platform ${AMD64})`,
    );
}

function layerRefs(
  store: BlobStore,
  paths: { rel: string; blobDigest?: string }[],
  diffIds: readonly string[] | undefined,
): LayerRef[] {
  if (diffIds && diffIds.length !== paths.length)
    throw new PackError(
      'PACK_BAD_MANIFEST',
      `${store.what}: the config lists ${diffIds.length} layer digests (rootfs.diff_ids) for ${paths.length} layers`,
    );
  const ids = diffIds;
  return paths.map((p, i) => {
    if (!store.has(p.rel))
      throw new PackError('PACK_MISSING_BLOB', `${store.what}: layer ${i + 1} (${p.rel}) is missing`);
    const tag = p.blobDigest ?? ids?.[i];
    const ref: LayerRef = {
      what: `${store.what}: layer ${i + 1} of ${paths.length}${tag ? ` (${short(tag)})` : ` (${p.rel})`}`,
      open: () => store.open(p.rel),
      size: store.size(p.rel),
    };
    if (p.blobDigest) ref.blobDigest = p.blobDigest;
    if (ids?.[i]) ref.diffId = ids[i];
    return ref;
  });
}

// ---- OCI layouts -----------------------------------------------------------------------------------------------

interface Picked {
  manifest: Descriptor;
  others: string[];
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

function refName(d: Descriptor): string | undefined {
  return d.annotations?.['org.opencontainers.image.ref.name'] ?? d.annotations?.['io.containerd.image.name'];
}

async function pickManifest(
  store: BlobStore,
  ds: Descriptor[],
  depth: number,
  others: string[],
): Promise<Descriptor[]> {
  if (depth > 4) throw new PackError('PACK_BAD_MANIFEST', `${store.what}: image indexes nested more than 4 deep`);
  const found: Descriptor[] = [];
  for (const d of ds) {
    if (isAttestation(d)) continue;
    const mt = d.mediaType ?? '';
    if (mt === MEDIA.ociIndex || mt === MEDIA.dockerList) {
      const nested = await readBlobJson(store, d, indexSchema, 'image index');
      found.push(...(await pickManifest(store, nested.manifests, depth + 1, others)));
    } else if (mt === MEDIA.ociManifest || mt === MEDIA.dockerManifest) {
      if (d.platform && platformOf(d.platform) !== AMD64) others.push(platformOf(d.platform));
      else found.push(d);
    } else {
      others.push(`an entry of media type ${mt || '(none)'}`);
    }
  }
  return found;
}

async function fromOciLayout(store: BlobStore, tag: string | undefined): Promise<Picked> {
  const index = await readJson(store, 'index.json', indexSchema, 'index');
  let top = index.manifests;
  if (tag !== undefined) {
    top = top.filter((d) => refName(d) === tag || refName(d)?.endsWith(`:${tag}`));
    if (top.length === 0) {
      const tags = index.manifests.map(refName).filter((t): t is string => t !== undefined);
      throw new PackError(
        'PACK_NOT_AN_IMAGE',
        `${store.what}: no image tagged ${JSON.stringify(tag)} (tags: ${tags.join(', ') || 'none'})`,
      );
    }
  }
  const others: string[] = [];
  const candidates = await pickManifest(store, top, 0, others);
  const present = candidates.find((d) => store.has(blobPath(d.digest)));
  if (!present) {
    if (candidates.length > 0)
      throw new PackError('PACK_MISSING_BLOB', `${store.what}: manifest ${candidates[0]!.digest} is not in the layout`);
    if (others.some((o) => o.includes('/')))
      throw new PackError(
        'PACK_PLATFORM',
        `${store.what}: no ${AMD64} image, only ${[...new Set(others)].join(', ')}; Golem providers run ${AMD64} guests`,
      );
    throw new PackError(
      'PACK_MEDIA_TYPE',
      `${store.what}: no image manifest in index.json${others.length ? ` (found ${[...new Set(others)].join(', ')})` : ''}`,
    );
  }
  return { manifest: present, others };
}

async function imageFromOci(store: BlobStore, tag: string | undefined): Promise<ResolvedSource> {
  const { manifest: md } = await fromOciLayout(store, tag);
  const manifest = await readBlobJson(store, md, manifestSchema, 'image manifest');
  for (const [i, l] of manifest.layers.entries()) {
    if (l.mediaType !== undefined && !LAYER_MEDIA_TYPES.includes(l.mediaType))
      throw new PackError('PACK_MEDIA_TYPE', `${store.what}: layer ${i + 1} has unknown media type ${l.mediaType}`);
  }
  const config = await readBlobJson(store, manifest.config, imageJsonSchema, 'image config');
  checkPlatform(config, store.what);
  const layers = layerRefs(
    store,
    manifest.layers.map((l) => ({ rel: blobPath(l.digest), blobDigest: l.digest })),
    config.rootfs?.diff_ids,
  );
  return { kind: 'image', what: store.what, config, configDigest: manifest.config.digest, layers };
}

// ---- docker save ------------------------------------------------------------------------------------------------

async function imageFromDockerArchive(store: BlobStore, ref: string | undefined): Promise<ResolvedSource> {
  const entries = await readJson(store, 'manifest.json', dockerManifestSchema, 'manifest.json');
  const tags = (e: (typeof entries)[number]): string[] => e.RepoTags ?? [];
  let chosen = entries;
  if (ref !== undefined)
    chosen = entries.filter((e) => tags(e).includes(ref) || tags(e).some((t) => t.endsWith(`:${ref}`)));
  if (chosen.length !== 1) {
    const all = entries.flatMap(tags);
    throw new PackError(
      'PACK_NOT_AN_IMAGE',
      ref === undefined
        ? `${store.what}: the archive holds ${entries.length} images (${all.join(', ') || 'untagged'}); name one: docker-archive:FILE:REPO:TAG`
        : `${store.what}: ${chosen.length === 0 ? 'no' : 'more than one'} image tagged ${ref} (tags: ${all.join(', ') || 'none'})`,
    );
  }
  const e = chosen[0]!;
  if (!store.has(e.Config))
    throw new PackError('PACK_MISSING_BLOB', `${store.what}: image config ${e.Config} is missing`);
  const bytes = await store.readBytes(e.Config);
  const config = parseJson(bytes, imageJsonSchema, `${store.what}: image config ${e.Config}`);
  // The config's file name is its digest (classic: <hex>.json, Docker 25+: blobs/sha256/<hex>).
  const configHex = /^(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(e.Config)?.[1];
  const configDigest = configHex ? `sha256:${configHex}` : undefined;
  if (configDigest && sha256(bytes) !== configDigest)
    throw new PackError('PACK_DIGEST_MISMATCH', `${store.what}: ${e.Config} has digest ${sha256(bytes)}`);
  checkPlatform(config, store.what);
  const layers = layerRefs(
    store,
    e.Layers.map((rel) => {
      const hex = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(rel)?.[1];
      return hex ? { rel, blobDigest: `sha256:${hex}` } : { rel };
    }),
    config.rootfs?.diff_ids,
  );
  return { kind: 'image', what: store.what, config, ...(configDigest ? { configDigest } : {}), layers };
}

// ---- sniffing ---------------------------------------------------------------------------------------------------

/** Splits `PATH[:TAG]`: a tag has no `/`, so a path with colons in folder names still works. */
function splitTag(s: string): { p: string; tag?: string } {
  const i = s.lastIndexOf(':');
  if (i > 0 && !s.slice(i + 1).includes('/') && s.slice(i + 1) !== '') return { p: s.slice(0, i), tag: s.slice(i + 1) };
  return { p: s };
}

async function magic(file: string): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(512);
    const { bytesRead } = await fh.read(b, 0, 512, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

function isZstd(b: Buffer): boolean {
  return b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528;
}

/** A ustar/GNU header: "ustar" magic at 257, or at least a header whose checksum adds up. */
function looksLikeTar(b: Buffer): boolean {
  if (b.length < 512) return false;
  if (b.subarray(257, 262).toString('latin1') === 'ustar') return true;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return sum === parseInt(b.subarray(148, 156).toString('latin1').replace(/[\0 ]/g, ''), 8);
}

function rootfsTar(file: string): ResolvedSource {
  return {
    kind: 'image',
    what: file,
    config: undefined,
    layers: [
      { what: `${file} (root filesystem tar)`, open: () => fs.createReadStream(file), size: fs.statSync(file).size },
    ],
  };
}

async function openArchive(file: string): Promise<TarStore> {
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new PackError('PACK_NOT_AN_IMAGE', `pack: ${file} is not a file`);
  if (!looksLikeTar(await magic(file))) throw new PackError('PACK_NOT_AN_IMAGE', `pack: ${file} is not a tar archive`);
  return TarStore.open(file, file);
}

/**
 * `docker://REPO[:TAG|@DIGEST]`: Debian's skopeo (the well-kept registry client: auth files, mirrors, platform
 * selection) copies the linux/amd64 image into a temporary OCI layout, which is then read like any other.
 */
async function fromRegistry(source: string, o: RegistryOptions, progress?: PackProgress): Promise<ResolvedSource> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'ya-pack-'));
  const cleanup = (): Promise<void> => fsp.rm(tmp, { recursive: true, force: true });
  const layout = path.join(tmp, 'layout');
  const args = ['copy', '--quiet', '--override-os', 'linux', '--override-arch', 'amd64'];
  if (o.tlsVerify === false) args.push('--src-tls-verify=false');
  if (o.authFile) args.push('--src-authfile', o.authFile);
  const watch = progress ? watchFetch(layout, progress) : undefined;
  try {
    await execa('skopeo', [...args, source, `oci:${layout}:image`])
      .finally(() => watch?.stop())
      .catch((err: unknown) => {
        if ((err as { code?: string }).code === 'ENOENT')
          throw new ImageToolError('TOOL_MISSING', `pack: ${source} needs skopeo (apt-get install skopeo)`);
        const said = String((err as { stderr?: string }).stderr ?? '')
          .trim()
          .split('\n')
          .pop();
        throw new PackError('PACK_FETCH_FAILED', `pack: cannot fetch ${source}${said ? `: ${said}` : ''}`, {
          cause: err,
        });
      });
    const image = await imageFromOci(new DirStore(layout, source), 'image');
    return { ...image, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Reports the bytes skopeo has written into the layout, twice a second, and once more when it is done. */
function watchFetch(layout: string, progress: PackProgress): { stop(): void } {
  const measure = (): number => {
    let n = 0;
    const blobs = path.join(layout, 'blobs', 'sha256');
    for (const f of fs.existsSync(blobs) ? fs.readdirSync(blobs) : [])
      n += fs.statSync(path.join(blobs, f), { throwIfNoEntry: false })?.size ?? 0;
    return n;
  };
  const timer = setInterval(() => progress({ phase: 'fetch', bytes: measure() }), 500);
  return {
    stop: () => {
      clearInterval(timer);
      progress({ phase: 'fetch', bytes: measure(), done: true });
    },
  };
}

export async function resolveSource(
  source: string,
  registry: RegistryOptions = {},
  progress?: PackProgress,
): Promise<ResolvedSource> {
  const prefix = /^(oci|oci-archive|docker-archive|docker):(.*)$/.exec(source);
  if (prefix) {
    const [, transport, rest] = prefix as unknown as [string, string, string];
    if (transport === 'docker') return fromRegistry(source, registry, progress);
    const { p, tag } = splitTag(rest);
    if (transport === 'oci') {
      if (!(await isDirectory(p))) throw new PackError('PACK_NOT_AN_IMAGE', `pack: ${p} is not a folder`);
      if (!fs.existsSync(path.join(p, 'oci-layout')))
        throw new PackError('PACK_NOT_AN_IMAGE', `pack: ${p} is not an OCI image layout (no oci-layout file)`);
      return imageFromOci(new DirStore(p, p), tag);
    }
    if (transport === 'oci-archive') return imageFromOci(await openArchive(p), tag);
    // docker-archive:FILE[:REPO:TAG]: the reference is everything after the file name.
    const i = rest.indexOf(':');
    const file = i > 0 && !fs.existsSync(rest) ? rest.slice(0, i) : rest;
    const ref = file === rest ? undefined : rest.slice(file.length + 1);
    const store = await openArchive(file);
    if (store.has('manifest.json')) return imageFromDockerArchive(store, ref);
    if (store.has('index.json')) return imageFromOci(store, ref);
    throw new PackError('PACK_NOT_AN_IMAGE', `pack: ${file} is not a docker save archive (no manifest.json)`);
  }
  const st = await fsp.stat(source).catch(() => undefined);
  if (!st) throw new PackError('PACK_NOT_AN_IMAGE', `pack: ${source} does not exist`);
  if (st.isDirectory()) {
    if (fs.existsSync(path.join(source, 'oci-layout')) && fs.existsSync(path.join(source, 'index.json')))
      return imageFromOci(new DirStore(source, source), undefined);
    return { kind: 'rootfs-dir', dir: source };
  }
  if (!st.isFile()) throw new PackError('PACK_NOT_AN_IMAGE', `pack: ${source} is neither a folder nor a file`);
  const head = await magic(source);
  if (isGzip(head) || isZstd(head)) return rootfsTar(source);
  if (!looksLikeTar(head))
    throw new PackError(
      'PACK_NOT_AN_IMAGE',
      `pack: ${source} is not an image: neither a folder, a tar (docker save, OCI layout, root filesystem) nor a compressed tar`,
    );
  const store = await TarStore.open(source, source);
  if (store.has('manifest.json')) return imageFromDockerArchive(store, undefined);
  if (store.has('oci-layout') && store.has('index.json')) return imageFromOci(store, undefined);
  return rootfsTar(source);
}
