"""seccomp_exec.py SPEC PROGRAM [ARGS...]: runs PROGRAM under a seccomp filter, as systemd
would for a unit's SystemCallFilter=, SystemCallErrorNumber=, RestrictAddressFamilies= and
MemoryDenyWriteExecute= (test_hardening.py works SPEC out from the unit).

SPEC is JSON: {"allow": [system calls], "errno": N, "families": [address families] or null,
"deny_write_execute": bool}. Every system call outside "allow" fails with errno N. Needs
no_new_privs (setpriv --no-new-privs) when run without privileges.
"""

import json
import mmap
import os
import sys

import seccomp

# system calls that can map or turn memory executable, and the argument with the protection
PROTECTION_ARGUMENT = {"mmap": 2, "mprotect": 2, "pkey_mprotect": 2}


def allow(filter_, name, *conditions):
    try:
        filter_.add_rule(seccomp.ALLOW, name, *conditions)
    except (RuntimeError, ValueError):
        pass  # not a system call of this architecture


def main():
    spec = json.loads(sys.argv[1])
    program = sys.argv[2:]
    conditional = set()
    if spec["families"] is not None:
        conditional.add("socket")
    if spec["deny_write_execute"]:
        conditional.update(PROTECTION_ARGUMENT)
    filter_ = seccomp.SyscallFilter(seccomp.ERRNO(spec["errno"]))
    for name in spec["allow"]:
        if name not in conditional:
            allow(filter_, name)
    allowed = set(spec["allow"])
    if spec["families"] is not None and "socket" in allowed:
        for family in spec["families"]:
            allow(filter_, "socket", seccomp.Arg(0, seccomp.EQ, family))
    if spec["deny_write_execute"]:
        write_execute = mmap.PROT_WRITE | mmap.PROT_EXEC
        for name, index in PROTECTION_ARGUMENT.items():
            if name not in allowed:
                continue
            if name == "mmap":
                # Writable or executable, never both.
                for mask_value in (0, mmap.PROT_WRITE, mmap.PROT_EXEC):
                    allow(filter_, name, seccomp.Arg(index, seccomp.MASKED_EQ, write_execute,
                                                     mask_value))
            else:
                # Memory never turns executable after the fact.
                allow(filter_, name, seccomp.Arg(index, seccomp.MASKED_EQ, mmap.PROT_EXEC, 0))
    filter_.load()
    os.execv(program[0], program)


main()
