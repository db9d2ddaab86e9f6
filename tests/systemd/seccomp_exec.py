#!/usr/bin/env python3
"""seccomp_exec.py: exec a command under the system-call filter that arrangd.service
declares, so tests can run the real daemon with it without a service manager.

Reads the unit's SystemCallFilter= lines, expands the @groups with
`systemd-analyze syscall-filter`, and installs the same filter systemd would: the
lines in order (the first allow list, ~lists remove, later lists add back), anything
else fails with the errno of
SystemCallErrorNumber= (EPERM if unset: then systemd would kill, but a test learns more
from an error). RestrictAddressFamilies= becomes a second filter, as in systemd:
socket() with another family fails with EAFNOSUPPORT. Uses libseccomp through ctypes
(standard library only) and PR_SET_NO_NEW_PRIVS, like NoNewPrivileges=yes.

Usage: seccomp_exec.py UNIT COMMAND [ARGS...]
"""

import ctypes
import ctypes.util
import errno
import os
import re
import subprocess
import sys

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ = 4
SCMP_CMP_GE = 5
FAMILIES = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def scmp_act_errno(e):
    return 0x00050000 | (e & 0xFFFF)


def groups():
    """{"@name": [members...]} from systemd-analyze syscall-filter."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=True).stdout.decode()
    g, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = line.split()[0]
            g[cur] = []
        elif cur and line.strip() and not line.strip().startswith("#"):
            g[cur].append(line.strip())
    return g


def expand(names, g, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for n in names:
        if n.startswith("@"):
            if n in seen:
                continue
            seen.add(n)
            out |= expand(g.get(n, []), g, seen)
        else:
            out.add(n)
    return out


def filter_from_unit(path):
    """The allowed calls and the errno, applying the lines in order as systemd does:
    the first (allow) list sets the base, later ~lists remove, later lists add back."""
    allow, err = None, "EPERM"
    g = groups()
    with open(path) as f:
        for line in f:
            m = re.match(r"^SystemCallFilter=(~?)(.*)$", line.strip())
            if m:
                names = expand(m.group(2).split(), g)
                if allow is None:
                    if m.group(1):
                        sys.exit("seccomp_exec: the unit's first SystemCallFilter= is a deny list")
                    allow = set(names)
                elif m.group(1):
                    allow -= names
                else:
                    allow |= names
            m = re.match(r"^SystemCallErrorNumber=(\w+)$", line.strip())
            if m:
                err = m.group(1)
    if allow is None:
        sys.exit("seccomp_exec: the unit has no SystemCallFilter= allow list")
    # systemd always permits what it needs to start the process and end it.
    allow |= {"execve", "exit", "exit_group", "rt_sigreturn", "sigreturn"}
    return sorted(allow), getattr(errno, err)


def families_from_unit(path):
    """The RestrictAddressFamilies= allow list as numbers, or None."""
    fams = None
    with open(path) as f:
        for line in f:
            m = re.match(r"^RestrictAddressFamilies=(.*)$", line.strip())
            if m:
                if m.group(1).startswith("~"):
                    sys.exit("seccomp_exec: deny-list RestrictAddressFamilies= not supported")
                fams = (fams or set()) | {FAMILIES[n] for n in m.group(1).split()}
    return fams


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: seccomp_exec.py UNIT COMMAND [ARGS...]")
    allowed, err = filter_from_unit(sys.argv[1])
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                     ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(scmp_act_errno(err))
    if not ctx:
        sys.exit("seccomp_exec: seccomp_init failed")
    n = 0
    for name in allowed:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            continue  # not a call on this architecture
        if lib.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0:
            n += 1
    fams = families_from_unit(sys.argv[1])
    if fams:
        # A filter of its own, loaded first (the allow list below refuses seccomp()
        # itself): socket(family) with a family not listed -> EAFNOSUPPORT.
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(ArgCmp)]
        ctx2 = lib.seccomp_init(SCMP_ACT_ALLOW)
        nr = lib.seccomp_syscall_resolve_name(b"socket")
        refuse = scmp_act_errno(errno.EAFNOSUPPORT)
        top = max(fams)
        for fam in range(0, top):
            if fam not in fams:
                cmp = ArgCmp(0, SCMP_CMP_EQ, fam, 0)
                if lib.seccomp_rule_add_array(ctx2, refuse, nr, 1, ctypes.byref(cmp)) != 0:
                    sys.exit("seccomp_exec: cannot add a socket() rule")
        cmp = ArgCmp(0, SCMP_CMP_GE, top + 1, 0)
        if lib.seccomp_rule_add_array(ctx2, refuse, nr, 1, ctypes.byref(cmp)) != 0:
            sys.exit("seccomp_exec: cannot add a socket() rule")
        rc = lib.seccomp_load(ctx2)
        if rc != 0:
            sys.exit(f"seccomp_exec: seccomp_load (address families) failed: {os.strerror(-rc)}")

    rc = lib.seccomp_load(ctx)  # sets NO_NEW_PRIVS first (libseccomp's default)
    if rc != 0:
        sys.exit(f"seccomp_exec: seccomp_load failed: {os.strerror(-rc)}")

    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
