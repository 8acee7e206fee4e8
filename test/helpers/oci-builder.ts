/**
 * Image fixtures built in code for the image-import tests: layer tars from entry lists, compressed as asked, laid
 * out as an OCI image layout (optionally behind a nested multi-platform index with an arm64 image and an attestation
 * manifest), as an OCI archive, or as `docker save` archives in the classic and the Docker 25+ layouts. Layers are
 * written with src/image/tar/writer.ts (tested against GNU tar on its own); the layouts are plain JSON and files.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { execa } from 'execa';
import { TarWriter } from '../../src/image/tar/writer.js';
import type { TarEntry, TarEntryType } from '../../src/image/tar/reader.js';

export interface FixtureEntry {
  path: string;
  type?: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  content?: string | Buffer;
  linkname?: string;
  xattrs?: Record<string, Buffer>;
  devmajor?: number;
  devminor?: number;
}

export type Compression = 'none' | 'gzip' | 'zstd';

function entryOf(f: FixtureEntry): { entry: TarEntry; body?: Buffer } {
  const type = f.type ?? 'file';
  const body = type === 'file' ? Buffer.from(f.content ?? '') : undefined;
  return {
    entry: {
      path: f.path,
      type,
      mode: f.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: f.uid ?? 0,
      gid: f.gid ?? 0,
      uname: '',
      gname: '',
      mtime: 1_700_000_000,
      size: body?.length ?? 0,
      linkname: f.linkname ?? '',
      devmajor: f.devmajor ?? 0,
      devminor: f.devminor ?? 0,
      xattrs: new Map(Object.entries(f.xattrs ?? {})),
    },
    ...(body ? { body } : {}),
  };
}

/** An uncompressed layer tar of the entries, in order. */
export async function layerTar(entries: FixtureEntry[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const w = new TarWriter(out);
  for (const f of entries) {
    const { entry, body } = entryOf(f);
    await w.add(entry, body);
  }
  await w.finish();
  return Buffer.concat(chunks);
}

export async function compress(tar: Buffer, c: Compression): Promise<Buffer> {
  if (c === 'gzip') return zlib.gzipSync(tar);
  if (c === 'zstd') return Buffer.from((await execa('zstd', ['-q', '-c'], { input: tar, encoding: 'buffer' })).stdout);
  return tar;
}

export function sha256(b: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
}

export interface ImageSpec {
  /** Per layer: its entries, or a ready uncompressed tar (e.g. GNU tar of a real root filesystem). */
  layers: (FixtureEntry[] | Buffer)[];
  compression?: Compression;
  architecture?: string;
  config?: Record<string, unknown>;
}

interface BuiltBlob {
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface BuiltImage {
  config: BuiltBlob;
  manifest: BuiltBlob;
  layers: (BuiltBlob & { tar: Buffer; mediaType: string })[];
}

const LAYER_MT: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

function blob(bytes: Buffer): BuiltBlob {
  return { digest: sha256(bytes), size: bytes.length, bytes };
}

export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const c = spec.compression ?? 'none';
  const layers = [];
  for (const entries of spec.layers) {
    const tar = Buffer.isBuffer(entries) ? entries : await layerTar(entries);
    layers.push({ ...blob(await compress(tar, c)), tar, mediaType: LAYER_MT[c] });
  }
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: spec.architecture ?? 'amd64',
        os: 'linux',
        config: spec.config ?? {},
        rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) },
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    ),
  );
  return { config, manifest, layers };
}

async function writeBlob(dir: string, b: { digest: string; bytes: Buffer }): Promise<void> {
  const p = path.join(dir, 'blobs', ...b.digest.split(':'));
  await fs.mkdir(path.dirname(p), { recursive: true });
  await fs.writeFile(p, b.bytes);
}

export interface LayoutOptions {
  tag?: string;
  /** index.json → a nested index holding an arm64 image, this image and an attestation manifest. */
  nested?: boolean;
}

const ATTESTATION = { 'vnd.docker.reference.type': 'attestation-manifest' };

/** Writes an OCI image layout of `img` into `dir` (created). */
export async function writeOciLayout(dir: string, img: BuiltImage, o: LayoutOptions = {}): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const b of [img.config, img.manifest, ...img.layers]) await writeBlob(dir, b);
  const desc = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: img.manifest.digest,
    size: img.manifest.size,
  };
  const ref = o.tag ? { annotations: { 'org.opencontainers.image.ref.name': o.tag } } : {};
  let top: object = { ...desc, ...ref };
  if (o.nested) {
    // Another platform's image (its blobs left out, as Docker does) and an attestation manifest come first.
    const arm = blob(Buffer.from('{"schemaVersion":2,"arm64":true}'));
    const att = blob(Buffer.from('{"schemaVersion":2,"attestation":true}'));
    await writeBlob(dir, att);
    const nested = blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            { ...desc, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux' } },
            {
              ...desc,
              digest: att.digest,
              size: att.size,
              annotations: ATTESTATION,
              platform: { architecture: 'unknown', os: 'unknown' },
            },
            { ...desc, platform: { architecture: 'amd64', os: 'linux' } },
          ],
        }),
      ),
    );
    await writeBlob(dir, nested);
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: nested.digest, size: nested.size, ...ref };
  }
  await fs.writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [top] }));
}

/** Tars a folder (GNU tar, numeric owners) into `file`. */
export async function tarFolder(dir: string, file: string): Promise<void> {
  await execa('tar', ['--numeric-owner', '--format=pax', '-C', dir, '-cf', file, '.']);
}

/** `docker save` of Docker < 25: <config hex>.json, <id>/layer.tar per layer, manifest.json, repositories. */
export async function writeDockerSaveClassic(file: string, img: BuiltImage, repoTag = 'fixture:latest'): Promise<void> {
  const dir = `${file}.d`;
  await fs.mkdir(dir, { recursive: true });
  const configName = `${img.config.digest.slice(7)}.json`;
  await fs.writeFile(path.join(dir, configName), img.config.bytes);
  const layers: string[] = [];
  for (const l of img.layers) {
    const id = sha256(l.tar).slice(7);
    await fs.mkdir(path.join(dir, id));
    await fs.writeFile(path.join(dir, id, 'layer.tar'), l.tar);
    await fs.writeFile(path.join(dir, id, 'VERSION'), '1.0');
    layers.push(`${id}/layer.tar`);
  }
  await fs.writeFile(
    path.join(dir, 'manifest.json'),
    JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layers }]),
  );
  const [repo, tag] = repoTag.split(':');
  await fs.writeFile(
    path.join(dir, 'repositories'),
    JSON.stringify({ [repo!]: { [tag!]: layers.at(-1)!.split('/')[0] } }),
  );
  await tarFolder(dir, file);
  await fs.rm(dir, { recursive: true });
}

/** `docker save` of Docker 25+: an OCI layout plus manifest.json whose paths point into blobs/sha256/. */
export async function writeDockerSave25(file: string, img: BuiltImage, o: LayoutOptions = {}): Promise<void> {
  const dir = `${file}.d`;
  await writeOciLayout(dir, img, o);
  await fs.writeFile(
    path.join(dir, 'manifest.json'),
    JSON.stringify([
      {
        Config: `blobs/sha256/${img.config.digest.slice(7)}`,
        RepoTags: ['fixture:latest'],
        Layers: img.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      },
    ]),
  );
  await tarFolder(dir, file);
  await fs.rm(dir, { recursive: true });
}

/** An OCI layout in a tar (`oci-archive:`). */
export async function writeOciArchive(file: string, img: BuiltImage, o: LayoutOptions = {}): Promise<void> {
  const dir = `${file}.d`;
  await writeOciLayout(dir, img, o);
  await tarFolder(dir, file);
  await fs.rm(dir, { recursive: true });
}
