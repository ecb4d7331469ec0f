"""`hookdoor serve` with its delivery worker in a child process: the API and deliveries on two cores.

Inside `serve`'s own event loop the worker shares one core with the API: at 500 update-user calls/s
(one webhook) that core was saturated and deliveries fell seconds behind, while the same load with
the worker in a process of its own was delivered in 3-4 ms at the median (docs/benchmarks.md). So on
a machine with two cores or more, `serve` starts `hookdoor worker` as its child, once migrations
have run, and keeps it running:

* the child is woken at commit as any separate worker is (doorbell on SQLite, NOTIFY on PostgreSQL);
* it runs at a lower CPU priority (``HOOKDOOR_WORKER_NICE``): when both want the CPU, the API goes first;
* it is stopped with `serve` (and lets the sends in flight finish, as a worker inside `serve` would);
  it also dies with `serve` when `serve` is killed (Linux: the parent-death signal): what it was
  sending is sent again after the lease, as after any crash;
* if it exits on its own, it is started again (after 1 s, doubling up to 30 s while it keeps failing);
* its delivery metrics reach `serve`'s /api/metrics through prometheus_client's multiprocess files,
  in a folder that lives as long as `serve`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from hookdoor.config import Settings
from hookdoor.db.engine import is_in_memory

log = logging.getLogger(__name__)
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when the child imports it
PARENT_VARIABLE = "HOOKDOOR_WORKER_PARENT"  # the pid of the `serve` a worker is the child of
STOP_SECONDS = 40  # the worker lets sends in flight finish for up to 30 s
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0  # a child that ran this long before it exited starts over at the first delay


def runs_in_child_process(settings: Settings) -> bool:
    """Does `serve` run its worker as a child process (``HOOKDOOR_WORKER_PROCESS``, else: two cores)?
    Never for an in-memory SQLite database, which another process cannot see."""
    if not settings.run_worker or is_in_memory(settings.database_url):
        return False
    if settings.worker_process is not None:
        return settings.worker_process
    return (os.cpu_count() or 1) >= 2


class WorkerProcess:
    """The `hookdoor worker` child of `hookdoor serve`, kept running until ``stop()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics_dir = Path(tempfile.mkdtemp(prefix="hookdoor-metrics-"))
        atexit.register(shutil.rmtree, self.metrics_dir, ignore_errors=True)  # if `serve` never got to start it
        self._child: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._keep_running, name="hookdoor-worker-process", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("the delivery worker (pid %d) did not stop within %d s; killed", child.pid, STOP_SECONDS)
                child.kill()
                child.wait()
        if self._watcher.is_alive():
            self._watcher.join(5)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def _spawn(self) -> None:
        environment = {**os.environ, METRICS_DIR_VARIABLE: str(self.metrics_dir), PARENT_VARIABLE: str(os.getpid())}
        with self._lock:
            if self._stopping.is_set():
                return
            # A process group of its own: a Ctrl-C at the terminal stops `serve`, which then stops the
            # worker once the API is done, instead of both at once (and the worker restarted meanwhile).
            self._child = subprocess.Popen([sys.executable, "-m", "hookdoor", "worker"], env=environment,
                                           stdin=subprocess.DEVNULL, process_group=0)
        log.info("delivery worker started as process %d", self._child.pid)

    def _keep_running(self) -> None:
        delay = RESTART_FIRST_SECONDS
        while True:
            started = time.monotonic()
            assert self._child is not None
            code = self._child.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY_AFTER_SECONDS:
                delay = RESTART_FIRST_SECONDS
            log.error("the delivery worker (pid %d) exited with %s; starting it again in %g s",
                      self._child.pid, code, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RESTART_MAX_SECONDS)
            self._spawn()


def follow_parent(settings: Settings) -> None:
    """In a worker started by `serve` (``HOOKDOOR_WORKER_PARENT`` set): die with it, even when it is
    killed (Linux), and yield the CPU to it. Called first thing by `hookdoor worker`."""
    parent = os.environ.get(PARENT_VARIABLE)
    if not parent:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != int(parent):  # the parent died before the signal was asked for
        sys.exit("hookdoor worker: the hookdoor serve that started it is gone")
    if settings.worker_nice:
        os.nice(settings.worker_nice)
