/**
 * Runtime capabilities advertised in the offer (`golem.runtime.capabilities`). Only what works is listed:
 * networking (vpn, inet) is not implemented, so it is not advertised and CreateNetwork gets an Error reply.
 */
export const RUNTIME_CAPABILITIES: readonly string[] = ['start-entrypoint'];
