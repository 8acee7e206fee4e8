#!/usr/bin/env bash
# The one command to run on the borrowed KVM machine, from the repo root (carry bench/kvm-kit):
#
#   bash bench/kvm/run-on-device.sh
#
# Needs only bash, coreutils and python3 there (no QEMU, no Node, no network): QEMU, its libraries, firmware, the
# guest kernel, initramfs and test image all come from bench/kvm-kit (bench/kvm/make-kit). Prints the machine's
# facts, then runs bench/kvm/measure.py under KVM (--runs 5) and a short TCG comparison (--runs 2) on the same
# machine. JSON: "$OUT/kvm-results.json" (both runs, plus the facts), and the per-accel files next to it;
# human tables on stderr. The whole script is bounded to 240 s (each step has its own smaller timeout).
set -uo pipefail
# Hard bound on everything: re-run this script under timeout(1) once.
if [[ -z "${KVM_KIT_BOUNDED:-}" ]]; then
  KVM_KIT_BOUNDED=1 exec timeout -k 5 240 bash "$0" "$@"
fi
OUT="${OUT:-/tmp}"
KIT="${KIT:-bench/kvm-kit}"
T_TOTAL=235  # the inner budget, under the outer 240 s
START=$(date +%s)
mkdir -p "$OUT"
left() { echo $(( T_TOTAL - ($(date +%s) - START) )); }

main() {
  echo "== facts =="
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "uname: $(uname -a)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cpu flags (virt): $(grep -m1 -o -w -E 'vmx|svm|hypervisor' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "python3: $(python3 --version 2>&1)"
  echo "mem: $(grep -m1 MemTotal /proc/meminfo)"
  echo "loadavg: $(cat /proc/loadavg)"
  ls -l /dev/kvm 2>&1
  if python3 -c 'import os; os.close(os.open("/dev/kvm", os.O_RDWR))' 2>/tmp/kvm-open.err; then
    echo "/dev/kvm: opens read-write"
    KVM_OK=1
  else
    echo "/dev/kvm: does NOT open: $(cat /tmp/kvm-open.err | tail -1)"
    KVM_OK=0
  fi
  python3 - <<'PY' 2>&1
# KVM_GET_API_VERSION (ioctl 0xAE00) should return 12; KVM_CHECK_EXTENSION of KVM_CAP_USER_MEMORY (3) 1.
import fcntl, os
try:
    fd = os.open('/dev/kvm', os.O_RDWR)
    print('KVM_GET_API_VERSION:', fcntl.ioctl(fd, 0xAE00, 0))
    print('KVM_CHECK_EXTENSION(USER_MEMORY):', fcntl.ioctl(fd, 0xAE03, 3))
    os.close(fd)
except OSError as e:
    print('KVM ioctl probe failed:', e)
PY
  [[ -d "$KIT" ]] || { echo "error: $KIT missing (carry bench/kvm-kit; build it with bench/kvm/make-kit)"; return 2; }
  head -6 "$KIT/MANIFEST" 2>/dev/null
  echo "kit qemu: $(timeout 20 "$KIT/qemu" --version 2>&1 | head -1)"

  echo "== KVM: measure.py --accel kvm --runs 5 =="
  # 5 floor boots + 5 agent VMs (each: cold start, 200 exec RTTs, 256 MiB head + 256 MiB dd streaming).
  local t=$(( $(left) - 75 )); (( t > 150 )) && t=150
  if (( t > 20 )); then
    timeout -k 5 "$t" python3 bench/kvm/measure.py --kit "$KIT" --accel kvm --runs 5 --stream-timeout 30 \
      --json "$OUT/kvm-results.kvm.json" >/dev/null
    echo "measure kvm: exit $? (124 = timed out after ${t} s)"
  fi

  echo "== TCG comparison: measure.py --accel tcg --runs 2 (1 VM with RTT + 32 MiB streams) =="
  t=$(( $(left) - 8 )); (( t > 70 )) && t=70
  if (( t > 20 )); then
    timeout -k 5 "$t" python3 bench/kvm/measure.py --kit "$KIT" --accel tcg --runs 2 --full-runs 1 \
      --stream-bytes 33554432 --stream-timeout 15 --json "$OUT/kvm-results.tcg.json" >/dev/null
    echo "measure tcg: exit $? (124 = timed out after ${t} s)"
  else
    echo "measure tcg: skipped, only $(left) s left"
  fi
}

main 2>&1 | tee "$OUT/kvm-facts.txt"

# One combined file: facts + both summaries (null where a run produced nothing).
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {'missing': '%s: %s' % (p, e)}
res = {'facts': open(os.path.join(out, 'kvm-facts.txt')).read().split('\n== KVM')[0].splitlines(),
       'kvm': load(os.path.join(out, 'kvm-results.kvm.json')),
       'tcg': load(os.path.join(out, 'kvm-results.tcg.json'))}
with open(os.path.join(out, 'kvm-results.json'), 'w') as f:
    json.dump(res, f, indent=1)
def p50(d, *path):
    for k in path:
        d = (d or {}).get(k) if isinstance(d, dict) else None
    return d
for acc in ('kvm', 'tcg'):
    r = res[acc]
    print('%s: ok=%s floor p50=%s s, HELLO p50=%s s, /bin/true EXIT p50=%s s, exec RTT p50=%s ms p99=%s ms, '
          'head %s MB/s, dd %s MB/s' % (
        acc, r.get('ok'), p50(r, 'floor', 'seconds', 'p50'), p50(r, 'cold_start', 'cumulative_s', 'hello', 'p50'),
        p50(r, 'cold_start', 'cumulative_s', 'exit', 'p50'), p50(r, 'exec_rtt_ms', 'p50'), p50(r, 'exec_rtt_ms', 'p99'),
        p50(r, 'streaming', 'head', 'MBps', 'p50'), p50(r, 'streaming', 'dd', 'MBps', 'p50')))
    for e in r.get('errors', [])[:5]:
        print('  ! ' + e[:300])
print('written: %s' % os.path.join(out, 'kvm-results.json'))
PY
echo "total: $(( $(date +%s) - START )) s"
