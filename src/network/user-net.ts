/**
 * `--net user` (operators only, docs/networking.md "Operator networking"): QEMU's user-mode network (slirp) on one
 * more NIC, configured at boot with slirp's fixed addresses: the guest is 10.0.2.15/24, the gateway 10.0.2.2 (which
 * is also the host's loopback as the guest sees it), the resolver 10.0.2.3. Outbound TCP and UDP go through the
 * host's own sockets; nothing can connect in. Refused in service mode: under yagna it would bypass the provider's
 * outbound rules, which apply only on the ExeUnit's INET path.
 */
import type { NicPlan } from './plan.js';

/** The NIC's MAC: 90:13 and slirp's guest address 10.0.2.15, like the VPN and INET NICs. */
export const USER_NET_MAC = '90:13:0a:00:02:0f';

export const USER_NET_PLAN: NicPlan = {
  mac: USER_NET_MAC,
  mtu: 1500,
  isolate: false,
  addresses: [{ addr: '10.0.2.15', prefix: 24 }],
  routes: [{ dest: '0.0.0.0', prefix: 0, gateway: '10.0.2.2', metric: 0 }],
  hosts: [],
  nameservers: ['10.0.2.3'],
};
