/**
 * Runtime capabilities advertised in the offer (`golem.runtime.capabilities`). Only what works is listed:
 * `vpn` (docs/networking.md); `inet` and `manifest-support` are not offered until the INET data path is tested.
 */
export const RUNTIME_CAPABILITIES: readonly string[] = ['vpn', 'start-entrypoint'];
