/**
 * IPv4 and Ethernet addresses as the network code and the guest protocol use them: strict parsing (a dotted quad of
 * four decimal bytes without leading zeros, a contiguous netmask, a colon-separated MAC) and the prefix arithmetic
 * the VPN checks need. A shared leaf: src/network/ (CreateNetwork) and src/guest/ (NET_CONFIG frames) both use it.
 * An IPv4 address is a number in 0..2^32-1 (host order) here; the wire form is network order.
 */

/** `a.b.c.d` -> number, or undefined when the text is not exactly a dotted quad (no spaces, no leading zeros). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

export function formatIpv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
}

/** The four bytes in network order. */
export function ipv4Bytes(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

export function ipv4FromBytes(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** The netmask of a prefix length (0..32). */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Prefix length of a netmask, or undefined when its one bits are not contiguous from the top (255.0.255.0). */
export function maskPrefix(mask: number): number | undefined {
  for (let p = 0; p <= 32; p++) if (prefixMask(p) === mask) return p;
  return undefined;
}

/** The network address of `addr` under `prefix`. */
export function networkOf(addr: number, prefix: number): number {
  return (addr & prefixMask(prefix)) >>> 0;
}

/** True when `addr` has bits set outside its prefix (so it is not a network address). */
export function hasHostBits(addr: number, prefix: number): boolean {
  return networkOf(addr, prefix) !== addr;
}

/**
 * Host names the VPN's `hosts` may carry into the guest's /etc/hosts: what DNS labels use, plus `_`; nothing that
 * ends or splits a line or a field there. Checked by the CreateNetwork plan and by the NET_CONFIG codec.
 */
export const HOST_NAME_PATTERN = /^[A-Za-z0-9._-]{1,253}$/;

/** `aa:bb:cc:dd:ee:ff` (hex, either case) -> 6 bytes, or undefined. */
export function parseMac(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return undefined;
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** 6 bytes -> lowercase `aa:bb:cc:dd:ee:ff`. */
export function formatMac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
