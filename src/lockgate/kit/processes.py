"""Worker processes forked from the process that bound the listening socket, and supervised by
it: ``lockgate serve --workers N`` (docs/operations.md §Several workers).

The parent forks ``count`` workers, each running ``work`` on the inherited socket, and waits.
A worker that exits while the others serve is replaced; a worker that exits before all of them
have started ends the whole server. ``SIGTERM`` or ``SIGINT`` to the parent is passed on to the
workers as ``SIGTERM`` (each finishes its requests in flight), and the parent returns once they
are gone. On Linux each worker asks the kernel to kill it when the parent dies, so a parent
killed outright (``kill -9``) leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Final

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>
STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
POLL_SECONDS: Final = 0.2
BACKLOG: Final = 2048


def balances_connections() -> bool:
    """Whether each worker may listen on a socket of its own and the kernel spread new
    connections over them: Linux's ``SO_REUSEPORT`` (other systems give it other meanings)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bound_socket(family: int, address: tuple[object, ...], *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``address``, not yet listening: the options ``socket.create_server``
    sets, and ``SO_REUSEPORT`` when ``reuse_port``."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def listener_beside(reserved: socket.socket) -> socket.socket:
    """A worker's own listening socket on the address ``reserved`` holds (bound with
    ``SO_REUSEPORT`` and never listening itself).

    Workers that all wait on one inherited socket do not share its connections: the first to
    wake accepts every connection queued, so a client opening 32 connections at once often
    finds all 32 on one worker while the others idle. With a socket per worker in one
    ``SO_REUSEPORT`` group, the kernel hands each new connection to one of them by a hash of
    its addresses, so connections spread evenly whatever the timing.
    """
    sock = bound_socket(reserved.family, reserved.getsockname(), reuse_port=True)
    sock.listen(BACKLOG)
    return sock


def die_with_parent() -> None:
    """Linux: the kernel sends this process SIGKILL when its parent ends, however it ends."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def default_worker_count() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every system
        return max(1, os.cpu_count() or 1)


class Supervisor:
    """Runs ``work(ready)`` in ``count`` forked processes; ``ready()`` says a worker serves."""

    def __init__(
        self,
        count: int,
        work: Callable[[Callable[[], None]], None],
        *,
        restart_delay_seconds: float = 1.0,
        stop_timeout_seconds: float = 30.0,
    ) -> None:
        self._count = count
        self._work = work
        self._restart_delay = restart_delay_seconds
        self._stop_timeout = stop_timeout_seconds
        self._workers: dict[int, int] = {}  # pid -> worker number
        self._stopping: int | None = None
        self._ready_read, self._ready_write = os.pipe()

    def run(self, on_ready: Callable[[], None]) -> int:
        """Start the workers, call ``on_ready`` once every one of them serves, and supervise
        them until a stop signal (exit status 0) or a failed start (1)."""
        previous = {number: signal.signal(number, self._stop) for number in STOP_SIGNALS}
        try:
            for number in range(self._count):
                self._fork(number)
            return self._supervise(on_ready)
        finally:
            self._stop_workers()
            for number, handler in previous.items():
                signal.signal(number, handler)
            os.close(self._ready_read)
            os.close(self._ready_write)

    def _stop(self, number: int, _frame: FrameType | None) -> None:
        self._stopping = number

    def _fork(self, number: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid:
            self._workers[pid] = number
            return
        code = 1
        try:
            die_with_parent()
            if os.getppid() != parent:  # the parent died before the kernel was asked
                os._exit(1)
            for each in STOP_SIGNALS:
                signal.signal(each, signal.SIG_DFL)
            os.close(self._ready_read)

            def ready() -> None:
                os.write(self._ready_write, b".")

            self._work(ready)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:
            logger.exception("worker %d failed", number)
        finally:
            logging.shutdown()
            os._exit(code)

    def _supervise(self, on_ready: Callable[[], None]) -> int:
        started = 0
        announced = False
        while self._stopping is None:
            readable, _, _ = select.select([self._ready_read], [], [], POLL_SECONDS)
            if readable:
                started += len(os.read(self._ready_read, 1024))
                if not announced and started >= self._count:
                    announced = True
                    on_ready()
            for pid, number, status in self._reap():
                if not announced:
                    logger.error(
                        "worker %d (pid %d) exited with status %d while starting",
                        number,
                        pid,
                        status,
                    )
                    return 1
                logger.warning(
                    "worker %d (pid %d) exited with status %d; starting another",
                    number,
                    pid,
                    status,
                )
                time.sleep(self._restart_delay)  # a worker failing at once must not spin
                if self._stopping is None:
                    self._fork(number)
        logger.info("stopping %d worker(s) on signal %d", len(self._workers), self._stopping)
        return 0

    def _reap(self) -> list[tuple[int, int, int]]:
        """The workers that have exited: pid, number and exit status of each."""
        gone = []
        while self._workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            number = self._workers.pop(pid, None)
            if number is not None:
                gone.append((pid, number, os.waitstatus_to_exitcode(status)))
        return gone

    def _stop_workers(self) -> None:
        """SIGTERM to every worker, SIGKILL to those still there after the stop timeout."""
        for pid in self._workers:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout
        while self._workers and time.monotonic() < deadline:
            if not self._reap():
                time.sleep(0.05)
        for pid in self._workers:
            logger.warning(
                "worker (pid %d) still running after %.0f s: killed", pid, self._stop_timeout
            )
            _signal(pid, signal.SIGKILL)
        while self._workers and self._reap():
            pass
        for pid in list(self._workers):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self._workers.pop(pid, None)


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone; reaped later
        os.kill(pid, number)
