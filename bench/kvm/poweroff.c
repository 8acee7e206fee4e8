/*
 * poweroff: /init of the KVM kit's "floor" initramfs (bench/kvm/make-kit).
 *
 * Ends the VM at once with reboot(RB_AUTOBOOT); with `reboot=t` on the kernel command line and QEMU's -no-reboot
 * this is a QEMU exit (microvm with acpi=off has no power-off). The wall time from QEMU exec to QEMU exit is then
 * "QEMU + firmware + kernel boot + nothing": the floor a real cold start is compared with.
 * Built static with musl-gcc; no libc calls but reboot/pause.
 */
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	reboot(RB_AUTOBOOT);
	/* PID 1 must never return (the kernel would panic): wait for the reset. */
	for (;;)
		pause();
}
