#!/usr/bin/env python3
"""notify_test.py: runs one arrangd node the way systemd would (Type=notify,
WatchdogSec=) with a fake NOTIFY_SOCKET, and checks issue 5's promises:

  1. READY=1 arrives only when the API socket answers: when it arrives the socket file
     exists and `arrangctl --socket PATH status` exits 0 at once;
  2. WATCHDOG=1 pings arrive at least every WATCHDOG_USEC/2 (after READY=1);
  3. a STATUS= line is sent;
  4. SIGHUP with a broken config keeps the daemon running on the old config (API still
     answers, watchdog keeps pinging, an error is logged), and a later SIGHUP with a
     good config is accepted;
  5. SIGTERM ends it with exit status 0, and every stderr line has an sd-daemon
     priority prefix.

Usage: notify_test.py ARRANGD ARRANGCTL [UNIT]. With UNIT, the daemon runs under the
system-call filter that unit declares (seccomp_exec.py), as systemd would run it.
Standard library only.
"""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

WATCHDOG_USEC = 2_000_000        # systemd would say WatchdogSec=2s
HALF = WATCHDOG_USEC / 2 / 1e6   # pings must come at least this often (s)
JITTER = 0.25                    # allowance for a loaded test machine (s)

failures = []


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    failures.append(msg)


def ok(msg):
    print("ok: " + msg)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ctl_status(arrangctl, api, timeout=5):
    """Exit status of `arrangctl --socket api status` (None on timeout)."""
    try:
        r = subprocess.run([arrangctl, "--socket", api, "--timeout", str(int(timeout * 1000)),
                            "status"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace").strip()


class Notifications:
    """The fake NOTIFY_SOCKET: a bound AF_UNIX datagram socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.events = []  # (monotonic time, "KEY=value")

    def poll(self, seconds, on_ready=None):
        """Receive for up to `seconds`; call on_ready(t) when READY=1 arrives."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            data = self.sock.recv(4096)
            t = time.monotonic()
            for line in data.decode(errors="replace").split("\n"):
                if not line:
                    continue
                self.events.append((t, line))
                if line == "READY=1" and on_ready is not None:
                    on_ready(t)

    def times(self, line):
        return [t for t, l in self.events if l == line]

    def lines(self, prefix):
        return [l for _, l in self.events if l.startswith(prefix)]


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: notify_test.py ARRANGD ARRANGCTL [UNIT]", file=sys.stderr)
        return 2
    arrangd, arrangctl = sys.argv[1], sys.argv[2]
    wrap = []
    if len(sys.argv) == 4:
        wrap = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "seccomp_exec.py"), sys.argv[3]]
        print(f"running arrangd under the SystemCallFilter= of {sys.argv[3]}")
    tmp = tempfile.mkdtemp(prefix="arrangd-notify-")
    conf = os.path.join(tmp, "arrangd.conf")
    members = os.path.join(tmp, "members.conf")
    api = os.path.join(tmp, "api.sock")
    notify = os.path.join(tmp, "notify.sock")
    errlog = os.path.join(tmp, "stderr.log")
    good_conf = f"""[node]
name = systemd-test
organisation = Systemd Test
data_dir = {tmp}/data
listen = tcp://127.0.0.1:{free_port()}
api = {api}
members = {members}
log_level = info

[sync]
heartbeat_ms = 200
"""
    with open(conf, "w") as f:
        f.write(good_conf)

    # A one-node region: --init creates the key and replica and prints our section.
    r = subprocess.run([arrangd, "--init", "--config", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    out = r.stdout.decode(errors="replace")
    if r.returncode != 0 or "public_key" not in out:
        fail(f"arrangd --init exited {r.returncode}, printed {out!r} {r.stderr!r}")
        return finish(tmp)
    # Keep the section but not an endpoint pointing at ourselves.
    section = "\n".join(l for l in out.splitlines() if not l.strip().startswith("endpoint"))
    with open(members, "w") as f:
        f.write(section + "\n")
    r = subprocess.run([arrangd, "-n", "--config", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    if r.returncode != 0:
        fail(f"arrangd -n rejects the test config: {r.stdout!r}")
        return finish(tmp)

    n = Notifications(notify)
    env = dict(os.environ, NOTIFY_SOCKET=notify, WATCHDOG_USEC=str(WATCHDOG_USEC))
    env.pop("WATCHDOG_PID", None)
    if wrap:
        # LeakSanitizer stops the world with ptrace(), which the filter (rightly) refuses;
        # leaks are checked by the unfiltered run.
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    # WATCHDOG_PID must be the daemon's own pid, as systemd sets it: exec from a shell.
    errf = open(errlog, "wb")
    proc = subprocess.Popen(
        ["sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"] + wrap +
        [arrangd, "--config", conf], env=env, stderr=errf, stdout=errf)

    ready = {}

    def on_ready(t):
        # Check at once, before anything else: does the API answer now?
        ready["t"] = t
        ready["socket_existed"] = os.path.exists(api)
        ready["status"] = ctl_status(arrangctl, api, timeout=2)
        # Also: READY=1 must come from the daemon still running.
        ready["alive"] = proc.poll() is None

    try:
        # 1. Startup until READY=1 (give it 15 s), then 4 s of steady state.
        deadline = time.monotonic() + 15
        while "t" not in ready and time.monotonic() < deadline and proc.poll() is None:
            n.poll(0.2, on_ready)
        if "t" not in ready:
            fail("no READY=1 within 15 s" +
                 (f" (daemon exited {proc.returncode})" if proc.poll() is not None else ""))
            return finish(tmp, proc, errlog)
        rc, msg = ready["status"]
        if not ready["socket_existed"]:
            fail("READY=1 arrived before the API socket file existed")
        if rc != 0:
            fail(f"READY=1 arrived but `arrangctl status` failed right after: rc={rc} {msg}")
        else:
            ok("READY=1 sent once the API answers (arrangctl status exit 0 on READY)")
        n.poll(4)

        # 2. Watchdog pings.
        pings = [t for t in n.times("WATCHDOG=1") if t >= ready["t"]]
        if len(pings) < 3:
            fail(f"only {len(pings)} WATCHDOG=1 in the 4 s after READY=1 "
                 f"(WATCHDOG_USEC={WATCHDOG_USEC})")
        else:
            gaps = [b - a for a, b in zip([ready["t"]] + pings, pings + [time.monotonic()])]
            worst = max(gaps)
            if worst > HALF + JITTER:
                fail(f"WATCHDOG=1 gap of {worst:.3f} s > WATCHDOG_USEC/2 = {HALF:.3f} s")
            else:
                ok(f"{len(pings)} WATCHDOG=1 pings, largest gap {worst:.3f} s "
                   f"<= {HALF:.3f} s (+{JITTER} s jitter)")

        # 3. STATUS=.
        status = [l for l in n.lines("STATUS=") if len(l) > len("STATUS=")]
        if not status:
            fail("no non-empty STATUS= line sent")
        else:
            ok(f"STATUS= sent ({status[-1]!r})")

        # 4. SIGHUP with a broken config: refused, old config kept.
        with open(conf, "w") as f:
            f.write(good_conf.replace("log_level = info", "log_level = info\nbogus_key = 1"))
        before = len(n.times("WATCHDOG=1"))
        hup_t = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        n.poll(2.5)
        if proc.poll() is not None:
            fail(f"daemon exited ({proc.returncode}) after SIGHUP with a broken config")
            return finish(tmp, proc, errlog)
        rc, msg = ctl_status(arrangctl, api)
        if rc != 0:
            fail(f"API stopped answering after SIGHUP with a broken config: rc={rc} {msg}")
        pings = [t for t in n.times("WATCHDOG=1") if t >= hup_t]
        if len(n.times("WATCHDOG=1")) <= before or not pings:
            fail("no WATCHDOG=1 after SIGHUP with a broken config")
        errf.flush()
        with open(errlog, "rb") as f:
            log = f.read().decode(errors="replace")
        if "bogus_key" not in log and "arrangd.conf:" not in log:
            fail("no log line naming the broken config after SIGHUP")
        if rc == 0 and pings and proc.poll() is None:
            ok("SIGHUP with a broken config: still running, API answers, watchdog pings")

        # ... and a good config is accepted again.
        with open(conf, "w") as f:
            f.write(good_conf)
        proc.send_signal(signal.SIGHUP)
        n.poll(1.5)
        rc, msg = ctl_status(arrangctl, api)
        if proc.poll() is not None or rc != 0:
            fail(f"after SIGHUP with the good config: alive={proc.poll() is None} status rc={rc}")
        else:
            ok("SIGHUP with the good config accepted")

        # 5. SIGTERM: clean exit.
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fail("daemon did not exit within 10 s of SIGTERM")
            proc.kill()
            proc.wait()
        else:
            if code != 0:
                fail(f"exit status {code} after SIGTERM, want 0")
            else:
                ok("SIGTERM: exit status 0")
        n.poll(0.2)
        if n.lines("STOPPING=1"):
            ok("STOPPING=1 sent")
        else:
            print("note: no STOPPING=1 (optional)")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errf.close()

    with open(errlog, "rb") as f:
        lines = f.read().decode(errors="replace").splitlines()
    bad = [l for l in lines if not re.match(r"^<[0-7]>", l)]
    if bad:
        fail(f"{len(bad)} stderr line(s) without a <N> priority prefix, e.g. {bad[0]!r}")
    else:
        ok(f"all {len(lines)} stderr lines carry sd-daemon priority prefixes")
    return finish(tmp, None, errlog)


def finish(tmp, proc=None, errlog=None):
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
    if failures and errlog and os.path.exists(errlog):
        with open(errlog, "rb") as f:
            print("--- daemon stderr:\n" + f.read().decode(errors="replace"), file=sys.stderr)
    subprocess.run(["rm", "-rf", tmp])
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("all notify checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
