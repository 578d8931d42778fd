"""Child processes of the dev stack, each in its own process group with its own log file.

Own process group (new session): the terminal's Ctrl-C reaches only `dichvucong dev`,
which then stops the children one by one, in reverse order, exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

STOP_TIMEOUT_SECONDS = 10.0


class Child:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        stop_signal: signal.Signals = signal.SIGINT,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        # SIGINT is what each program gets when run by hand in a terminal: uvicorn and the
        # Temporal server shut down gracefully, the worker leaves `asyncio.run` cleanly.
        self.stop_signal = stop_signal
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exit_code(self) -> int | None:
        """None while running (or never started); the exit code once it has ended."""
        return self.proc.poll() if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def last_log_line(self, limit: int = 200) -> str:
        """The last non-empty line of the log (usually the error), shortened to ``limit``."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 8192))
                tail = log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        return last if len(last) <= limit else last[: limit - 1] + "…"

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Polite signal, wait up to ``timeout``, then SIGKILL; also sweeps its process group."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_group(self.stop_signal)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                proc.wait()
        # Anything the child itself started (uvicorn --workers...) goes with it.
        self._signal_group(signal.SIGKILL, only_if_alive=True)

    def _signal_group(self, sig: signal.Signals, *, only_if_alive: bool = False) -> None:
        assert self.proc is not None
        pgid = self.proc.pid  # start_new_session: the child leads its own group
        try:
            if only_if_alive:
                os.killpg(pgid, 0)
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            if not only_if_alive and self.proc.poll() is None:
                self.proc.send_signal(sig)
