/**
 * Reads a .gvmi (docs/gvmi-format.md, sections 1 and 2): SquashFS image, then CRC-32 (LE) of the JSON, the JSON,
 * and its length as 8 ASCII digits at the very end. Pure functions take bytes; `readGvmi` does the (bounded) file
 * I/O: it never reads more than the trailer, whatever size the file claims.
 */
import fs from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { ImageError } from './errors.js';
import { imageConfig, imageVolumes, validateMetadata, type ImageMetadata } from './metadata.js';
import type { ImageConfig } from './image-config.js';

/** Larger metadata is refused: a real Docker config is a few KiB. */
export const MAX_METADATA_BYTES = 1024 * 1024;
const LEN_DIGITS = 8;
const CRC_BYTES = 4;
const SQUASHFS_MAGIC = Buffer.from('hsqs', 'latin1');

export interface GvmiInfo {
  path: string;
  size: number;
  jsonLength: number;
  crc: number;
  metadata: ImageMetadata;
  config: ImageConfig;
  volumes: string[];
}

/** Parses the 8-digit length; returns the metadata length or throws naming the fault. */
export function parseLengthField(field: Buffer, fileSize: number, file: string): number {
  const text = field.toString('latin1');
  if (!/^[0-9]{8}$/.test(text)) {
    throw new ImageError(
      'IMAGE_BAD_LENGTH',
      file,
      `metadata length field ${JSON.stringify(text)} is not 8 decimal digits`,
    );
  }
  const n = Number(text);
  if (n + LEN_DIGITS + CRC_BYTES > fileSize) {
    throw new ImageError('IMAGE_LENGTH_EXCEEDS_FILE', file, `metadata length ${n} exceeds file size ${fileSize}`);
  }
  if (n > MAX_METADATA_BYTES) {
    throw new ImageError(
      'IMAGE_METADATA_TOO_LARGE',
      file,
      `metadata length ${n} exceeds the limit of ${MAX_METADATA_BYTES} bytes`,
    );
  }
  return n;
}

/** Checks the CRC and parses + validates the JSON. `block` = CRC (4 bytes LE) followed by the JSON bytes. */
export function parseMetadataBlock(block: Buffer, file: string): { crc: number; metadata: ImageMetadata } {
  const crc = block.readUInt32LE(0);
  const json = block.subarray(CRC_BYTES);
  const actual = zlib.crc32(json);
  if (actual !== crc) {
    throw new ImageError(
      'IMAGE_CRC_MISMATCH',
      file,
      `metadata CRC mismatch (stored 0x${hex(crc)}, computed 0x${hex(actual)})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (err) {
    throw new ImageError(
      'IMAGE_BAD_JSON',
      file,
      `metadata is not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const res = validateMetadata(parsed);
  if (!res.ok) throw new ImageError('IMAGE_BAD_METADATA', file, res.fault);
  return { crc, metadata: res.value };
}

export async function readGvmi(file: string): Promise<GvmiInfo> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    throw new ImageError('IMAGE_UNREADABLE', file, `cannot open (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: err,
    });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ImageError('IMAGE_NOT_FILE', file, 'not a regular file');
    const size = st.size;
    if (size < SQUASHFS_MAGIC.length + CRC_BYTES + LEN_DIGITS) {
      throw new ImageError('IMAGE_TOO_SHORT', file, `file is too short to be a .gvmi (${size} bytes)`);
    }
    const magic = await readAt(fh, 0, SQUASHFS_MAGIC.length);
    if (!magic.equals(SQUASHFS_MAGIC)) {
      throw new ImageError('IMAGE_NOT_SQUASHFS', file, 'does not start with a SquashFS superblock (magic "hsqs")');
    }
    const jsonLength = parseLengthField(await readAt(fh, size - LEN_DIGITS, LEN_DIGITS), size, file);
    const block = await readAt(fh, size - LEN_DIGITS - jsonLength - CRC_BYTES, jsonLength + CRC_BYTES);
    const { crc, metadata } = parseMetadataBlock(block, file);
    return {
      path: file,
      size,
      jsonLength,
      crc,
      metadata,
      config: imageConfig(metadata),
      volumes: imageVolumes(metadata),
    };
  } finally {
    await fh.close();
  }
}

/** SHA3-224 of the whole file, hex: the hash requestors name images by (`hash:sha3:<hex>:<url>`). */
export async function sha3File(file: string): Promise<string> {
  const hash = createHash('sha3-224');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readAt(fh: fs.FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
