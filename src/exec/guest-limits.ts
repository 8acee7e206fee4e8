/**
 * Containment of requestor processes in the guest (docs/operator-guide.md, "Guest limits"): the limits init applies
 * to the cgroup the requestor's processes run in, from the operator's options over these defaults.
 *  - pids: 2 per MiB of guest memory, 1024 to 4096 processes and threads (systemd's default TasksMax for a 32768-pid
 *    machine is 4915): a shell fork bomb then meets EAGAIN before its processes (about 150 KiB each with their
 *    kernel stacks and page tables) fill the memory limit;
 *  - memory reserve: 1/16 of the guest's memory, at least 32 MiB and at most 128 MiB, kept out of the requestor's
 *    reach for init and the kernel, so the group's OOM killer stops a hog before the guest starves;
 *  - CPU weight: cgroup v2's default (100); init itself runs at nice -10, so under contention it still gets most of
 *    the CPU it asks for.
 */
export interface GuestLimits {
  /** 0: no limit. */
  pidsMax: number;
  /** 0: no memory limit. */
  memReserveBytes: number;
  /** 1..10000. */
  cpuWeight: number;
}

const MIB = 1024 * 1024;
export function defaultPidsMax(memBytes: number): number {
  return Math.min(4096, Math.max(1024, 2 * Math.floor(memBytes / MIB)));
}
export const DEFAULT_CPU_WEIGHT = 100;

export function defaultMemReserve(memBytes: number): number {
  return Math.min(128 * MIB, Math.max(32 * MIB, Math.floor(memBytes / 16 / MIB) * MIB));
}

export function guestLimits(memBytes: number, operator: Partial<GuestLimits> = {}): GuestLimits {
  return {
    pidsMax: operator.pidsMax ?? defaultPidsMax(memBytes),
    memReserveBytes: operator.memReserveBytes ?? defaultMemReserve(memBytes),
    cpuWeight: operator.cpuWeight ?? DEFAULT_CPU_WEIGHT,
  };
}
