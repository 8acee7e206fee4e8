# Sourced by the bash scripts that boot or describe the guest kernel. `guest_cmdline` prints the command line every
# guest boot gets; `guest_cmdline runtime` the one the runtime's boots get (with the `runtime` parameters after).
# The one source is src/vm/kernel-cmdline.json, which src/vm/qemu-args.ts imports; this reads it with node.
guest_cmdline() {
  local json
  json="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/src/vm/kernel-cmdline.json"
  node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log([...c.boot, ...(process.argv[2] === "runtime" ? c.runtime : [])].join(" "));
  ' "$json" "${1:-}"
}
