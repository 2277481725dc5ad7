"""Named points where a test can kill the run, as an operator's `kill -9` or the kernel's
OOM killer would: the crash tests prove that every stage is consistent wherever it dies.

`OMVARLD_FAILPOINT=NAME` (or `NAME:N`, the N-th time this process passes it) makes the
process send SIGKILL to itself when it reaches `failpoint(NAME)` — and to its whole
process group (the run and its crawl processes) when the run was started in a session of
its own, as the crash tests start it. Unset, a failpoint costs one environment look-up.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "OMVARLD_FAILPOINT"
_passed: dict[str, int] = {}
_lock = threading.Lock()


def failpoint(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    wanted, _, nth = spec.partition(":")
    if wanted != name:
        return
    with _lock:
        _passed[name] = _passed.get(name, 0) + 1
        if _passed[name] < int(nth or 1):
            return
    if os.getpgid(0) == os.getsid(0):  # a session of its own: take the group with it
        os.killpg(os.getpgid(0), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
