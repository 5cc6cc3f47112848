"""Running a command whose standard output is the data to back up.

The command's stdout is streamed (never written to a temporary file); its stderr goes to
ours, so the operator sees the tool's own messages. ``finish()`` waits for the command and
raises :class:`CommandFailedError` when it failed, which the archiver calls before it
writes the snapshot: a dump that died half-way never becomes a snapshot.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from types import TracebackType
from typing import BinaryIO

from cadang.errors import CommandFailedError, UsageError
from cadang.i18n import _


class StreamingCommand:
    def __init__(self, argv: Sequence[str]) -> None:
        if not argv:
            raise UsageError(_("no command given to read the backup from"))
        self.argv = list(argv)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def shown(self) -> str:
        return shlex.join(self.argv)

    def start(self) -> BinaryIO:
        try:
            self._proc = subprocess.Popen(
                self.argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError:
            raise UsageError(
                _("command not found: {command}").format(command=self.argv[0]),
                hint=_("install it, or give its full path"),
            ) from None
        except PermissionError:
            raise UsageError(
                _("command cannot be run: {command}").format(command=self.argv[0])
            ) from None
        assert self._proc.stdout is not None
        return self._proc.stdout  # type: ignore[return-value]

    def finish(self) -> None:
        """Wait for the command; raise if it failed."""
        assert self._proc is not None
        code = self._proc.wait()
        if code != 0:
            raise CommandFailedError(
                _("{command} failed with exit code {code}; no snapshot was written").format(
                    command=self.shown, code=code
                ),
                hint=_("its own messages are above; fix the cause and run the backup again"),
            )

    def __enter__(self) -> StreamingCommand:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()  # the backup failed: do not leave the dump running
            self._proc.wait()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
