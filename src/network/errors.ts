/**
 * Errors of the network layer (src/network/, docs/networking.md). NetworkError codes:
 *  - ENDPOINT_INVALID        a --vpn-endpoint / --inet-endpoint value that is not `udp://IPv4:PORT` or
 *                            `tcp-connect://IPv4:PORT` (usage error, exit code 2);
 *  - ENDPOINT_UNSUPPORTED    a scheme the ExeUnit knows but this runtime does not serve (`unix://`, `tcp-listen://`);
 *  - ENDPOINT_SOCKET_FAILED  the UDP socket towards the ExeUnit's endpoint could not be opened or connected;
 *  - NETWORK_NO_ENDPOINT     CreateNetwork for an interface whose endpoint option was not given;
 *  - NETWORK_ALREADY_CREATED a second CreateNetwork for the same interface;
 *  - NETWORK_INVALID         a CreateNetwork whose networks or hosts are malformed (address, mask, gateway, name).
 * The last three are answered with an Error reply (BAD_REQUEST) and the activity keeps serving.
 */
import { RuntimeError } from '../errors.js';

export const NETWORK_ERROR_CODES = [
  'ENDPOINT_INVALID',
  'ENDPOINT_UNSUPPORTED',
  'ENDPOINT_SOCKET_FAILED',
  'NETWORK_NO_ENDPOINT',
  'NETWORK_ALREADY_CREATED',
  'NETWORK_INVALID',
] as const;
export type NetworkErrorCode = (typeof NETWORK_ERROR_CODES)[number];

export class NetworkError extends RuntimeError {
  declare readonly code: NetworkErrorCode;

  constructor(code: NetworkErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, reply: code === 'ENDPOINT_SOCKET_FAILED' ? 'internal' : 'bad-request' });
  }
}
