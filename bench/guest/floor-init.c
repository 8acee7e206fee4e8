/*
 * floor-init: the trivial PID 1 of the cold-start floor VM (bench/cold-start.ts).
 *
 * Booted as /init of its own gzip'd newc initramfs, with the same kernel, QEMU machine, memory, vCPUs and accelerator
 * as a real activity. It ends the VM at once with reboot(RB_AUTOBOOT), which `reboot=t` + QEMU's `-no-reboot` turn
 * into a QEMU exit (the microvm runs with acpi=off, and without ACPI there is no power-off). The wall time from
 * spawning QEMU to its exit is therefore "QEMU + kernel boot + nothing": the floor a real cold start is compared with.
 *
 * With `ybench_idle=1` on the kernel command line (the kernel hands unknown key=value words to init as environment)
 * it sleeps forever instead: the idle-memory floor (a VM doing nothing, bench/idle-memory.ts).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	const char *idle = getenv("ybench_idle");

	if (idle && strcmp(idle, "1") == 0)
		for (;;)
			pause();
	reboot(RB_AUTOBOOT);
	/* PID 1 must never return (the kernel would panic): wait for the reset. */
	for (;;)
		pause();
}
