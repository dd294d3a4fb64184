"""Keep a few processes running: ``make run``'s web server, Celery worker and beat.

A process that exits by itself (a worker killed by the OOM killer, a crash) is started
again after a pause that doubles with each exit in a row (1 s, 2 s, 4 s … at most 30 s)
and starts over once it has stayed up a while; the others keep running. A process that
exits with code 2 at start has said why in one line (a bad setting, a server that does
not answer): after a few such exits in a row everything stops. SIGINT (Ctrl-C),
SIGTERM and SIGHUP stop all of them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from crm.core.preflight import CONFIGURATION_EXIT_CODE


def describe_exit(returncode: int) -> str:
    """``exited with code 1``, or ``killed by SIGKILL``."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class Child:
    name: str
    command: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    exits_in_a_row: int = 0  # exits since it last stayed up ``stable_after`` seconds
    start_failures: int = 0  # configuration exits (code 2) soon after starting, in a row
    last_exit: str = ""


class Supervisor:
    """Start ``commands`` (name → argv) and keep them running until told to stop."""

    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        cwd: Path | None = None,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
        give_up_after: int = 5,
        stop_timeout: float = 15.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.children = [Child(name, list(command)) for name, command in commands.items()]
        self.cwd = cwd
        self.first_delay, self.max_delay, self.stable_after = first_delay, max_delay, stable_after
        self.give_up_after, self.stop_timeout = give_up_after, stop_timeout
        self.log = log or (lambda line: print(f"jisr: {line}", file=sys.stderr, flush=True))
        self.stopping = False

    def _start(self, child: Child) -> int:
        # Its own process group: Ctrl-C reaches the supervisor, which stops each child once.
        child.process = subprocess.Popen(child.command, cwd=self.cwd, process_group=0)  # noqa: S603
        child.started_at = time.monotonic()
        child.restart_at = None
        return child.process.pid

    def _exited(self, child: Child, returncode: int) -> int | None:
        """Plan the restart of a child that exited; the supervisor's exit code if it is to
        stop everything instead."""
        now = time.monotonic()
        up_for = now - child.started_at
        if up_for >= self.stable_after:
            child.exits_in_a_row = 0
        child.exits_in_a_row += 1
        child.last_exit = describe_exit(returncode)
        if returncode == CONFIGURATION_EXIT_CODE and up_for < self.stable_after:
            child.start_failures += 1
            if child.start_failures >= self.give_up_after:
                self.log(
                    f"{child.name} cannot start ({child.start_failures} times in a row: {child.last_exit}); "
                    f"stopping {', '.join(c.name for c in self.children)}"
                )
                return CONFIGURATION_EXIT_CODE
        else:
            child.start_failures = 0
        delay = min(self.max_delay, self.first_delay * 2 ** (child.exits_in_a_row - 1))
        child.restart_at = now + delay
        child.process = None
        self.log(f"restarting {child.name} in {delay:g} s ({child.last_exit})")
        return None

    def run(self) -> int:
        """Until SIGINT, SIGTERM or SIGHUP (a closed terminal) (exit code 0), or a child that
        cannot start (2)."""

        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.stopping = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        code = 0
        try:
            for child in self.children:
                self.log(f"{child.name} started (pid {self._start(child)})")
            while not self.stopping:
                for child in self.children:
                    if child.process is not None and (returncode := child.process.poll()) is not None:
                        outcome = self._exited(child, returncode)
                        if outcome is not None:
                            self.stopping, code = True, outcome
                            break
                    elif child.restart_at is not None and time.monotonic() >= child.restart_at:
                        self.log(f"{child.name} restarted (pid {self._start(child)})")
                time.sleep(0.1)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + self.stop_timeout
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
