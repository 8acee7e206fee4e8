# Sourced by the bash scripts that use the runtime's cache folder (build-guest, make-test-image, debootstrap-image,
# guest-smoke-test): sets CACHE to YA_RUNTIME_VM_CACHE, else /var/cache/ya-runtime-vm as root, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/ya-runtime-vm. The runtime's own answer is src/cache-dir.ts (defaultCacheDir),
# which also makes a relative YA_RUNTIME_VM_CACHE absolute and ignores a relative XDG_CACHE_HOME.
if [[ -n "${YA_RUNTIME_VM_CACHE:-}" ]]; then CACHE="$YA_RUNTIME_VM_CACHE"
elif [[ $EUID -eq 0 ]]; then CACHE=/var/cache/ya-runtime-vm
else CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ya-runtime-vm"; fi
