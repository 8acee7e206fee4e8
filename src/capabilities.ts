/**
 * Runtime capabilities advertised in the offer (`golem.runtime.capabilities`). Only what works is listed:
 * `vpn` and `inet` (docs/networking.md; test/vm/vpn.test.ts and test/vm/inet.test.ts), `manifest-support` (the
 * ExeUnit enables INET only through a payload manifest, which it checks itself; the runtime gets the endpoint),
 * and `start-entrypoint`.
 */
export const RUNTIME_CAPABILITIES: readonly string[] = ['inet', 'vpn', 'manifest-support', 'start-entrypoint'];
