#!/usr/bin/env python3
"""KVM measurement kit driver (python3 stdlib only; needs nothing of the repo but bench/kvm-kit).

Boots the kit's QEMU (through the kit's own dynamic loader and libraries) with the runtime's exact command line
(src/vm/qemu-args.ts buildQemuArgs) and measures:

  (a) floor       QEMU exec -> QEMU exit, booting guest/floor.img (an /init that reboots at once)
  (b) cold start  QEMU exec -> agent socket accepts -> HELLO_OK -> MOUNT_ROOT OK -> RUN /bin/true OK -> its EXIT
  (c) exec RTT    K x (RUN /bin/true -> OK -> EXIT), p50/p99
  (d) streaming   RUN head -c BYTES /dev/zero, CREDIT after every OUTPUT frame, MB/s; then SHUTDOWN -> QEMU exit

Protocol: docs/guest-protocol.md (12-byte LE header len u32, type u16, flags u16, id u32).
Every wait is bounded; a boot that does not reach its goal within --boot-timeout (20 s) is killed and reported.
JSON summary on stdout (and --json FILE), a human table on stderr.

  python3 bench/kvm/measure.py --kit bench/kvm-kit --accel kvm --runs 5
"""

import argparse
import json
import os
import platform
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

# ---- protocol ------------------------------------------------------------------------------------------------

HDR = struct.Struct('<IHHI')
MAX_PAYLOAD = 1 << 20
T_HELLO, T_MOUNT_ROOT, T_MOUNT, T_RUN, T_STDIN, T_KILL, T_CREDIT, T_SYNC, T_SHUTDOWN = range(1, 10)
T_OK, T_ERROR, T_HELLO_OK = 0x80, 0x81, 0x82
T_OUTPUT, T_EXIT, T_LOG = 0x90, 0x91, 0x92
GUEST_TYPES = {T_OK, T_ERROR, T_HELLO_OK, T_OUTPUT, T_EXIT, T_LOG}

# src/vm/qemu-args.ts BASE_KERNEL_CMDLINE, from the same file: the parameters every runtime boot gets
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'src', 'vm', 'kernel-cmdline.json')) as _f:
    _CMDLINE = json.load(_f)
BASE_KERNEL_CMDLINE = _CMDLINE['boot'] + _CMDLINE['runtime']
SANDBOX = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny'
ROOTFS_SERIAL = 'rootfs-0'
PATH_ENV = 'PATH=/usr/local/bin:/usr/bin:/bin'

# Streaming producers (stdout of the guest process -> OUTPUT frames). `head` is the brief's producer; busybox head
# copies through stdio in small pieces (~7 MB/s under TCG, docs/benchmarks.md), so it may measure itself rather than
# the channel. `dd bs=1M` is the producer docs/benchmarks.md's stdout-stream uses (needs a whole number of MiB).
STREAM_PRODUCERS = {
    'head': lambda n: ['head', '-c', str(n), '/dev/zero'],
    'dd': lambda n: ['dd', 'if=/dev/zero', 'bs=1048576', 'count=%d' % (n >> 20)],
}


def p_str(s):
    b = s.encode()
    return struct.pack('<I', len(b)) + b


def p_strlist(xs):
    return struct.pack('<I', len(xs)) + b''.join(p_str(x) for x in xs)


class ProtoError(Exception):
    pass


class Timeout(Exception):
    pass


class Agent:
    """Host end of the agent port: frames over the QEMU socket chardev."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.next_id = 1
        self.logs = []
        self.credit_sent = 0

    def send(self, typ, payload=b'', rid=None):
        if rid is None:
            rid = self.next_id
            self.next_id += 1
        self.sock.sendall(HDR.pack(len(payload), typ, 0, rid) + payload)
        return rid

    def credit(self, proc_id, n):
        self.sock.sendall(HDR.pack(8, T_CREDIT, 0, 0) + struct.pack('<II', proc_id, n))
        self.credit_sent += n

    def recv_frame(self, deadline):
        """Next guest frame as (type, id, payload); LOG events are collected and skipped."""
        while True:
            if len(self.buf) >= 12:
                ln, typ, flags, rid = HDR.unpack_from(self.buf, 0)
                if ln > MAX_PAYLOAD or flags != 0 or typ not in GUEST_TYPES:
                    raise ProtoError('bad guest frame header len=%d type=0x%x flags=%d' % (ln, typ, flags))
                if len(self.buf) >= 12 + ln:
                    payload = bytes(self.buf[12:12 + ln])
                    del self.buf[:12 + ln]
                    if typ == T_LOG:
                        lvl = payload[0] if payload else -1
                        (sl,) = struct.unpack_from('<I', payload, 1)
                        self.logs.append((lvl, payload[5:5 + sl].decode(errors='replace')))
                        continue
                    return typ, rid, payload
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout('no frame from the guest in time')
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ProtoError('agent socket closed by QEMU')
            self.buf += chunk

    def request(self, typ, payload, deadline, on_event=None):
        """Send a request, return the reply payload of its id; events in between go to on_event."""
        rid = self.send(typ, payload)
        while True:
            t, i, p = self.recv_frame(deadline)
            if t in (T_OK, T_HELLO_OK, T_ERROR) and i == rid:
                if t == T_ERROR:
                    (errno_,) = struct.unpack_from('<i', p, 0)
                    (sl,) = struct.unpack_from('<I', p, 4)
                    raise ProtoError('request type %d: ERROR errno=%d %s' % (typ, errno_, p[8:8 + sl].decode(errors='replace')))
                return p
            if on_event:
                on_event(t, i, p)
            else:
                raise ProtoError('unexpected frame type 0x%x id %d while waiting for reply %d' % (t, i, rid))


def run_payload(proc_id, argv, path=None):
    return (struct.pack('<IIII', proc_id, 0, 0, 0) + p_str(path or argv[0]) + p_str('/') +
            p_strlist(argv) + p_strlist([PATH_ENV]))


class Proc:
    """One guest process: RUN it, drain OUTPUT granting CREDIT after each frame, wait for EXIT."""

    def __init__(self, agent, proc_id):
        self.agent, self.proc_id = agent, proc_id
        self.out_bytes = 0
        self.fd_bytes = {1: 0, 2: 0}
        self.frames = 0
        self.exit = None

    def event(self, t, i, p):
        if t == T_OUTPUT:
            pid, fd = struct.unpack_from('<IB', p, 0)
            n = len(p) - 5
            if pid != self.proc_id:
                raise ProtoError('OUTPUT for unknown proc %d' % pid)
            self.out_bytes += n
            self.fd_bytes[fd] = self.fd_bytes.get(fd, 0) + n
            self.frames += 1
            self.agent.credit(pid, n)  # docs: CREDIT once the bytes were delivered to the consumer
        elif t == T_EXIT:
            pid, code, sig = struct.unpack_from('<Iii', p, 0)
            if pid != self.proc_id:
                raise ProtoError('EXIT for unknown proc %d' % pid)
            self.exit = (code, sig)
        else:
            raise ProtoError('unexpected frame type 0x%x' % t)

    def start(self, argv, deadline):
        self.agent.request(T_RUN, run_payload(self.proc_id, argv), deadline, self.event)

    def wait(self, deadline):
        while self.exit is None:
            t, i, p = self.agent.recv_frame(deadline)
            self.event(t, i, p)
        return self.exit


# ---- QEMU ----------------------------------------------------------------------------------------------------

class Kit:
    def __init__(self, d):
        self.dir = os.path.abspath(d)
        self.loader = os.path.join(self.dir, 'lib', 'ld-linux-x86-64.so.2')
        self.qemu = os.path.join(self.dir, 'bin', 'qemu-system-x86_64')
        self.kernel = os.path.join(self.dir, 'guest', 'bzImage')
        self.initrd = os.path.join(self.dir, 'guest', 'initramfs.img')
        self.floor = os.path.join(self.dir, 'guest', 'floor.img')
        self.image = os.path.join(self.dir, 'guest', 'image.gvmi')
        for f in (self.loader, self.qemu, self.kernel, self.initrd, self.floor, self.image):
            if not os.path.isfile(f):
                raise SystemExit('measure: kit file missing: %s (run bench/kvm/make-kit)' % f)

    def env(self):
        # Nothing of the host's QEMU or libraries: the kit's loader, library path, modules and firmware only.
        e = {k: v for k, v in os.environ.items() if not k.startswith(('LD_', 'QEMU_'))}
        e['QEMU_MODULE_DIR'] = os.path.join(self.dir, 'lib', 'qemu')
        return e

    def argv(self, qemu_args):
        return [self.loader, '--library-path', os.path.join(self.dir, 'lib'), self.qemu,
                '-L', os.path.join(self.dir, 'share')] + qemu_args


def qemu_args(kit, accel, cpus, mem_mib, initrd, console, sandbox, agent_sock=None, image=None):
    """buildQemuArgs (src/vm/qemu-args.ts), same flags in the same order."""
    a = ['-M', 'microvm,acpi=off,rtc=on,memory-backend=mem',
         '-object', 'memory-backend-memfd,id=mem,size=%dM,share=on' % mem_mib,
         '-m', '%dM' % mem_mib,
         '-accel', accel,
         '-cpu', 'host' if accel == 'kvm' else 'max',
         '-smp', str(cpus),
         '-nodefaults', '-no-user-config', '-nographic', '-no-reboot']
    if sandbox:
        a += ['-sandbox', SANDBOX]
    a += ['-kernel', kit.kernel, '-initrd', initrd,
          '-append', ' '.join(BASE_KERNEL_CMDLINE),
          '-serial', 'file:' + console if console else 'null',
          '-global', 'virtio-mmio.force-legacy=false']
    if image:
        a += ['-drive', 'id=disk0,file=%s,format=raw,if=none,readonly=on' % image.replace(',', ',,'),
              '-device', 'virtio-blk-device,drive=disk0,serial=' + ROOTFS_SERIAL]
    if agent_sock:
        a += ['-device', 'virtio-serial-device,id=vser0',
              '-chardev', 'socket,id=agent,path=%s,server=on,wait=off' % agent_sock.replace(',', ',,'),
              '-device', 'virtserialport,bus=vser0.0,chardev=agent,name=yagent']
    return a


class Vm:
    def __init__(self, kit, args, workdir, tag):
        self.kit = kit
        self.args = args
        self.stderr_path = os.path.join(workdir, tag + '.stderr')
        self.proc = None
        self.t0 = None

    def spawn(self):
        self.errf = open(self.stderr_path, 'wb')
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.kit.argv(self.args), stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=self.errf, env=self.kit.env(), start_new_session=True)
        return self.t0

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if getattr(self, 'errf', None):
            self.errf.close()

    def stderr_tail(self, n=600):
        try:
            with open(self.stderr_path, 'rb') as f:
                return f.read()[-n:].decode(errors='replace').strip()
        except OSError:
            return ''


def tail_file(path, n=800):
    try:
        with open(path, 'rb') as f:
            return f.read()[-n:].decode(errors='replace').strip()
    except OSError:
        return ''


# ---- stats ---------------------------------------------------------------------------------------------------

def pct(xs, p):
    """Nearest-rank percentile."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(1, -(-len(s) * p // 100))
    return s[int(k) - 1]


def summary(xs, scale=1.0, nd=4):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    r = lambda v: round(v * scale, nd)
    return {'n': len(xs), 'min': r(min(xs)), 'p50': r(pct(xs, 50)), 'mean': r(sum(xs) / len(xs)),
            'p99': r(pct(xs, 99)), 'max': r(max(xs))}


# ---- measurements --------------------------------------------------------------------------------------------

def floor_run(kit, o, workdir, i, sandbox):
    vm = Vm(kit, qemu_args(kit, o.accel, o.cpus, o.mem_mib, kit.floor, None, sandbox), workdir, 'floor%d' % i)
    t0 = vm.spawn()
    rc = vm.wait(o.boot_timeout)
    t1 = time.monotonic()
    res = {'run': i}
    if rc is None:
        vm.kill()
        res.update(ok=False, error='no QEMU exit within %.0f s (boot hang: broken KVM?)' % o.boot_timeout,
                   stderr=vm.stderr_tail())
    elif rc != 0:
        vm.kill()
        res.update(ok=False, error='QEMU exited with %d' % rc, seconds=t1 - t0, stderr=vm.stderr_tail())
    else:
        vm.kill()
        res.update(ok=True, seconds=t1 - t0)
    return res


def connect_agent(vm, path, deadline):
    """Connect as soon as QEMU listens (retry every 0.5 ms); None if QEMU died or the deadline passed."""
    while time.monotonic() < deadline:
        if vm.proc.poll() is not None:
            return None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            time.sleep(0.0005)
    return None


def agent_run(kit, o, workdir, i, sandbox, full):
    sock_path = os.path.join(workdir, 'a%d.sock' % i)
    console = os.path.join(workdir, 'console%d.log' % i)
    vm = Vm(kit, qemu_args(kit, o.accel, o.cpus, o.mem_mib, kit.initrd, console, sandbox, sock_path, kit.image),
            workdir, 'agent%d' % i)
    res = {'run': i, 'ok': False}
    phases = {}
    ag = None
    step = 'spawn'
    try:
        t0 = vm.spawn()
        boot_deadline = t0 + o.boot_timeout
        step = 'connect'
        s = connect_agent(vm, sock_path, boot_deadline)
        if s is None:
            rc = vm.proc.poll()
            raise Timeout('QEMU exited (rc %s) before its agent socket accepted' % rc if rc is not None
                          else 'agent socket not accepting within %.0f s' % o.boot_timeout)
        phases['socket'] = time.monotonic() - t0
        ag = Agent(s)
        step = 'HELLO'
        p = ag.request(T_HELLO, struct.pack('<I', 1), boot_deadline)
        (ver,) = struct.unpack_from('<I', p, 0)
        (sl,) = struct.unpack_from('<I', p, 4)
        res['init'] = '%s (protocol %d)' % (p[8:8 + sl].decode(errors='replace'), ver)
        phases['hello'] = time.monotonic() - t0
        step = 'MOUNT_ROOT'
        ag.request(T_MOUNT_ROOT, p_str(ROOTFS_SERIAL) + p_str('') + struct.pack('<Q', 0) + p_str('bench'),
                   time.monotonic() + o.op_timeout)
        phases['mount_root'] = time.monotonic() - t0
        step = 'RUN /bin/true'
        pr = Proc(ag, 1)
        pr.start(['/bin/true'], time.monotonic() + o.op_timeout)
        phases['run_ok'] = time.monotonic() - t0
        code = pr.wait(time.monotonic() + o.op_timeout)
        phases['exit'] = time.monotonic() - t0
        if code != (0, 0):
            raise ProtoError('/bin/true exited %r' % (code,))
        res['phases'] = phases
        next_proc = 2

        if full and o.exec_iters > 0:
            step = 'exec RTT'
            rtts = []
            deadline = time.monotonic() + o.rtt_timeout
            for _ in range(o.exec_iters):
                pr = Proc(ag, next_proc)
                next_proc += 1
                a = time.monotonic()
                pr.start(['/bin/true'], deadline)
                code = pr.wait(deadline)
                rtts.append(time.monotonic() - a)
                if code != (0, 0):
                    raise ProtoError('/bin/true exited %r' % (code,))
            res['exec_rtt_s'] = rtts

        if full and o.stream_bytes > 0:
            res['streaming'] = {}
            for prod in o.stream_producers:
                step = 'streaming (%s)' % prod
                pr = Proc(ag, next_proc)
                next_proc += 1
                argv = STREAM_PRODUCERS[prod](o.stream_bytes)
                a = time.monotonic()
                deadline = a + o.stream_timeout
                try:
                    pr.start(argv, deadline)
                    code = pr.wait(deadline)
                except Timeout:
                    dt = time.monotonic() - a
                    res['streaming'][prod] = {'argv': ' '.join(argv), 'bytes': pr.fd_bytes[1], 'seconds': dt,
                                              'frames': pr.frames, 'complete': False,
                                              'MBps': pr.fd_bytes[1] / dt / 1e6}
                    raise Timeout('%d of %d bytes in %.0f s (--stream-timeout)' % (pr.fd_bytes[1], o.stream_bytes, dt))
                dt = time.monotonic() - a
                if code != (0, 0) or pr.fd_bytes[1] != o.stream_bytes:
                    raise ProtoError('%s exited %r after %d stdout bytes' % (argv[0], code, pr.fd_bytes[1]))
                res['streaming'][prod] = {'argv': ' '.join(argv), 'bytes': pr.fd_bytes[1], 'seconds': dt,
                                          'frames': pr.frames, 'complete': True, 'MBps': pr.fd_bytes[1] / dt / 1e6,
                                          'MiBps': pr.fd_bytes[1] / dt / 1048576}

        step = 'SHUTDOWN'
        a = time.monotonic()
        ag.request(T_SHUTDOWN, b'', a + o.op_timeout)
        res['shutdown_ok_s'] = time.monotonic() - a
        rc = vm.wait(a + o.op_timeout - time.monotonic())
        if rc is None:
            raise Timeout('QEMU still running %.0f s after SHUTDOWN OK' % o.op_timeout)
        res['shutdown_exit_s'] = time.monotonic() - a
        res['qemu_rc'] = rc
        res['ok'] = True
    except (Timeout, ProtoError, OSError, struct.error) as e:
        res['error'] = '%s: %s: %s' % (step, type(e).__name__, e)
        res['phases'] = phases
        res['stderr'] = vm.stderr_tail()
        res['console_tail'] = tail_file(console)
    finally:
        if ag is not None:
            if ag.logs:
                res['guest_logs'] = ag.logs[-10:]
            try:
                ag.sock.close()
            except OSError:
                pass
        vm.kill()
    return res


# ---- host facts ----------------------------------------------------------------------------------------------

def host_info():
    info = {'uname': ' '.join(platform.uname()), 'nproc': os.cpu_count(), 'python': platform.python_version()}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        fd = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
        info['dev_kvm'] = 'opens read-write'
    except OSError as e:
        info['dev_kvm'] = 'cannot open: %s' % e
    try:
        info['loadavg'] = open('/proc/loadavg').read().split()[:3]
    except OSError:
        pass
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--kit', required=True, help='kit directory (bench/kvm/make-kit output)')
    ap.add_argument('--accel', choices=['kvm', 'tcg'], required=True)
    ap.add_argument('--runs', type=int, default=5, help='floor boots and agent VMs (default 5)')
    ap.add_argument('--full-runs', type=int, default=None,
                    help='how many of the agent VMs also do exec RTT + streaming (default: all)')
    ap.add_argument('--exec-iters', type=int, default=200)
    ap.add_argument('--stream-bytes', type=int, default=268435456)
    ap.add_argument('--cpus', type=int, default=2)
    ap.add_argument('--mem-mib', type=int, default=512)
    ap.add_argument('--boot-timeout', type=float, default=20.0, help='give up a boot after this (default 20 s)')
    ap.add_argument('--op-timeout', type=float, default=20.0, help='per request (MOUNT_ROOT, RUN, SHUTDOWN)')
    ap.add_argument('--rtt-timeout', type=float, default=60.0, help='for all exec RTT iterations of one VM')
    ap.add_argument('--stream-producers', default='head,dd',
                    help='comma list of %s (default head,dd), each streams --stream-bytes' % ','.join(STREAM_PRODUCERS))
    ap.add_argument('--stream-timeout', type=float, default=90.0, help='per producer per VM (default 90 s)')
    ap.add_argument('--no-sandbox', action='store_true', help='drop -sandbox (else dropped only if it fails)')
    ap.add_argument('--json', help='also write the JSON summary here')
    ap.add_argument('--keep', action='store_true', help='keep the work dir (console logs, QEMU stderr)')
    o = ap.parse_args()
    o.stream_producers = [x for x in o.stream_producers.split(',') if x]
    for x in o.stream_producers:
        if x not in STREAM_PRODUCERS:
            ap.error('unknown stream producer %s' % x)
    if 'dd' in o.stream_producers and o.stream_bytes % 1048576:
        ap.error('--stream-bytes must be a multiple of 1 MiB for the dd producer')

    kit = Kit(o.kit)
    full_runs = o.runs if o.full_runs is None else o.full_runs
    # Short path: a unix socket path must stay under 108 bytes.
    workdir = tempfile.mkdtemp(prefix='ykvm-', dir='/tmp')
    out = {'accel': o.accel, 'kit': kit.dir, 'host': host_info(),
           'config': {'runs': o.runs, 'full_runs': full_runs, 'cpus': o.cpus, 'mem_mib': o.mem_mib,
                      'exec_iters': o.exec_iters, 'stream_bytes': o.stream_bytes, 'boot_timeout_s': o.boot_timeout,
                      'kernel_cmdline': ' '.join(BASE_KERNEL_CMDLINE)},
           'errors': []}
    try:
        with open(os.path.join(kit.dir, 'MANIFEST')) as f:
            out['kit_manifest'] = [l.rstrip() for l in f if l.strip()][:6]
    except OSError:
        pass
    t_start = time.monotonic()
    sandbox = not o.no_sandbox
    sandbox_note = 'off (--no-sandbox)' if o.no_sandbox else 'on'

    # (a) floor. If the first boot fails with -sandbox on and works without, go on without it.
    floors = []
    for i in range(o.runs):
        r = floor_run(kit, o, workdir, i, sandbox)
        if i == 0 and not r['ok'] and sandbox and 'within' not in r.get('error', ''):
            r2 = floor_run(kit, o, workdir, i, False)
            if r2['ok']:
                sandbox = False
                sandbox_note = 'off: QEMU failed with -sandbox (%s)' % r.get('stderr', '')[-200:]
                r = r2
        floors.append(r)
        print('measure: floor %d: %s' % (i, '%.3f s' % r['seconds'] if r['ok'] else r['error']), file=sys.stderr)
        if not r['ok'] and i == 0:
            out['errors'].append('floor: first boot failed (%s); not repeating it' % (
                'hung' if 'within' in r['error'] else 'QEMU error'))
            break
    out['config']['sandbox'] = sandbox_note
    out['config']['qemu_argv_floor'] = kit.argv(qemu_args(kit, o.accel, o.cpus, o.mem_mib, kit.floor, None, sandbox))
    ok_floor = [r['seconds'] for r in floors if r['ok']]
    out['floor'] = {'runs': floors, 'seconds': summary(ok_floor)}
    for r in floors:
        if not r['ok']:
            out['errors'].append('floor run %d: %s %s' % (r['run'], r['error'], r.get('stderr', '')))

    # (b)-(d) agent VMs.
    agents = []
    if ok_floor or o.accel == 'tcg':
        for i in range(o.runs):
            r = agent_run(kit, o, workdir, i, sandbox, i < full_runs)
            agents.append(r)
            msg = 'ok' if r['ok'] else r['error']
            if r.get('phases', {}).get('exit'):
                msg += ', /bin/true EXIT at %.3f s' % r['phases']['exit']
            for prod, x in r.get('streaming', {}).items():
                msg += ', %s stream %.1f MB/s' % (prod, x['MBps'])
            print('measure: agent VM %d: %s' % (i, msg), file=sys.stderr)
            if not r['ok']:
                out['errors'].append('agent run %d: %s | stderr: %s | console: %s' % (
                    r['run'], r['error'], r.get('stderr', ''), r.get('console_tail', '')[-300:]))
                if i == 0 and not r.get('phases', {}).get('hello'):
                    out['errors'].append('agent: first VM never answered HELLO; not repeating it')
                    break
    else:
        out['errors'].append('agent runs skipped: no floor boot succeeded under %s' % o.accel)
    out['config']['qemu_argv_agent'] = kit.argv(qemu_args(kit, o.accel, o.cpus, o.mem_mib, kit.initrd,
                                                          '<console.log>', sandbox, '<agent.sock>', kit.image))

    cs = {}
    for ph in ('socket', 'hello', 'mount_root', 'run_ok', 'exit'):
        cs[ph] = summary([r['phases'].get(ph) for r in agents if r.get('phases')])
    # Per-phase deltas (time spent in each step, not cumulative).
    prev = None
    deltas = {}
    for ph in ('socket', 'hello', 'mount_root', 'run_ok', 'exit'):
        deltas[ph] = summary([(r['phases'][ph] - (r['phases'][prev] if prev else 0.0))
                              for r in agents if ph in r.get('phases', {}) and (prev is None or prev in r['phases'])])
        prev = ph
    out['cold_start'] = {'cumulative_s': cs, 'step_s': deltas,
                         'inits': sorted({r['init'] for r in agents if r.get('init')})}
    if ok_floor and cs.get('hello'):
        out['cold_start']['hello_minus_floor_p50_s'] = round(cs['hello']['p50'] - out['floor']['seconds']['p50'], 4)
    rtts = [x for r in agents for x in r.get('exec_rtt_s', [])]
    out['exec_rtt_ms'] = summary(rtts, 1000.0, 3)
    out['exec_rtt_ms_per_vm'] = [summary(r['exec_rtt_s'], 1000.0, 3) for r in agents if r.get('exec_rtt_s')]
    out['streaming'] = {}
    for prod in o.stream_producers:
        st = [r['streaming'][prod] for r in agents if prod in r.get('streaming', {})]
        out['streaming'][prod] = {
            'argv': ' '.join(STREAM_PRODUCERS[prod](o.stream_bytes)),
            'runs': [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in x.items() if k != 'argv'} for x in st],
            'MBps': summary([x['MBps'] for x in st if x['complete']], 1.0, 1)}
    out['shutdown_s'] = {'ok': summary([r.get('shutdown_ok_s') for r in agents]),
                         'qemu_exit': summary([r.get('shutdown_exit_s') for r in agents])}
    out['agent_runs'] = [{k: v for k, v in r.items() if k != 'exec_rtt_s'} for r in agents]
    out['total_s'] = round(time.monotonic() - t_start, 2)
    out['ok'] = bool(ok_floor) and len(ok_floor) == len(floors) and bool(agents) and all(r['ok'] for r in agents)

    # Human table on stderr.
    def row(name, s, unit='s'):
        if not s:
            print('  %-34s %s' % (name, '-'), file=sys.stderr)
            return
        print('  %-34s p50 %9.4f  min %9.4f  max %9.4f  (%s, n=%d)' % (name, s['p50'], s['min'], s['max'], unit, s['n']),
              file=sys.stderr)
    e = sys.stderr
    print('\n== ya-runtime-vm KVM kit: accel=%s, %d vCPU, %d MiB, sandbox %s ==' % (
        o.accel, o.cpus, o.mem_mib, sandbox_note.split(':')[0]), file=e)
    h = out['host']
    print('  host: %s | %s CPUs | %s | /dev/kvm %s' % (h.get('cpu', '?'), h['nproc'], h['uname'].split()[2],
                                                      h['dev_kvm']), file=e)
    row('(a) floor: exec -> QEMU exit', out['floor']['seconds'])
    print('  (b) cold start, cumulative from exec:', file=e)
    for ph, label in (('socket', 'agent socket accepts'), ('hello', 'HELLO_OK'), ('mount_root', 'MOUNT_ROOT OK'),
                      ('run_ok', 'RUN /bin/true OK'), ('exit', 'EXIT of /bin/true')):
        row('    ' + label, cs[ph])
    print('      step times:', file=e)
    for ph, label in (('hello', 'socket -> HELLO_OK'), ('mount_root', 'HELLO_OK -> MOUNT_ROOT OK'),
                      ('run_ok', 'MOUNT_ROOT -> RUN OK'), ('exit', 'RUN OK -> EXIT')):
        row('    ' + label, deltas[ph])
    row('(c) exec RTT RUN->EXIT x%d' % o.exec_iters, out['exec_rtt_ms'], 'ms')
    if out['exec_rtt_ms']:
        print('  %-34s p99 %9.3f ms' % ('', out['exec_rtt_ms']['p99']), file=e)
    for prod in o.stream_producers:
        row('(d) streaming %d MiB, %s' % (o.stream_bytes >> 20, prod), out['streaming'][prod]['MBps'], 'MB/s')
    row('SHUTDOWN -> OK', out['shutdown_s']['ok'])
    row('SHUTDOWN -> QEMU exit', out['shutdown_s']['qemu_exit'])
    print('  total %.1f s, %s' % (out['total_s'], 'OK' if out['ok'] else 'ERRORS:'), file=e)
    for err in out['errors']:
        print('   ! ' + err[:600], file=e)

    text = json.dumps(out, indent=1)
    print(text)
    if o.json:
        with open(o.json, 'w') as f:
            f.write(text + '\n')
    if o.keep:
        print('measure: work dir kept: %s' % workdir, file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if out['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
