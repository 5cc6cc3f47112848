"""Running the tools that dump and restore: the one place that starts subprocesses.

* :class:`StreamingCommand` — a command whose standard output is the data to back up
  (``pg_dump``, ``mariadb-dump``, a user's command). Its stdout is streamed, never written to
  a temporary file. ``finish()`` waits and raises :class:`CommandFailedError` when it failed,
  which the archiver calls before it writes the snapshot: a dump that died half-way never
  becomes a snapshot.
* :class:`FeedingCommand` — a command that takes a stream on its standard input
  (``pg_restore``, ``mariadb``); a pump thread copies the stream in, and a failure on either
  side (the tool died, the snapshot could not be read) is reported, never hidden.
* :class:`InteractiveCommand` — a command we talk to line by line (a ``psql`` session that
  holds the transaction whose snapshot ``pg_dump`` uses).
* :func:`run` — a short command run to completion (a query, ``CREATE DATABASE``), raising
  when it fails; :func:`run_command` — the same, returning how it ended (service hooks).
* :func:`open_fifo_for_reading` / :func:`open_fifo_for_writing` — named pipes for tools that
  insist on a file name (Oracle ``exp``/``imp``), without deadlocking when the tool dies
  before it opens the pipe.

Every command's standard error is read by a thread that keeps its last lines for the error
message and, for the long-running tools, also shows each line to the operator as it comes.
Secrets are passed in the child's environment (``env``) and masked in every command line we
show (``secrets``). Functions that build argument lists live with each source, have no side
effects and are unit-tested.
"""

from __future__ import annotations

import collections
import errno
import os
import select
import shlex
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, BinaryIO

from cadang.errors import CadangError, CommandFailedError, SourceError, UsageError
from cadang.i18n import _

TAIL_LINES = 8  # lines of a tool's stderr quoted in an error message
_TAIL_CHARS = 1500
_COPY_SIZE = 1 << 20
_POLL_SECONDS = 0.05


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment plus ``extra`` (secrets such as PGPASSWORD), for one child only."""
    env = dict(os.environ)
    if extra:
        env.update(extra)
    return env


def shown_command(argv: Sequence[str], secrets: Sequence[str] = ()) -> str:
    """The command line as an operator may see it: secrets replaced by ``***``."""
    text = shlex.join(argv)
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def _spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    stdin: int | None,
    stdout: int | None,
) -> subprocess.Popen[bytes]:
    if not argv:
        raise UsageError(_("no command given"))
    try:
        return subprocess.Popen(
            list(argv),
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=child_env(env),
        )
    except OSError as exc:
        raise cannot_start(argv[0], exc) from None


def cannot_start(command: str, exc: OSError) -> UsageError:
    """Why a command could not be started, in words that say what to do."""
    if isinstance(exc, FileNotFoundError):
        return UsageError(
            _("command not found: {command}").format(command=command),
            hint=_("install it, or give its full path"),
        )
    if isinstance(exc, PermissionError):
        return UsageError(_("command cannot be run: {command}").format(command=command))
    return UsageError(
        _("cannot run {command}: {reason}").format(command=command, reason=exc.strerror or exc)
    )


class _StderrTail:
    """Reads a child's stderr in a thread: keeps the last lines, optionally shows each."""

    def __init__(self, pipe: IO[bytes], show: bool) -> None:
        self._pipe = pipe
        self._show = show
        self._lines: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._thread = threading.Thread(target=self._read, name="stderr-tail", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for raw in self._pipe:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if self._show:
                try:
                    sys.stderr.write(line + "\n")
                    sys.stderr.flush()
                except (OSError, ValueError):  # our stderr is gone; keep collecting
                    pass
            if line.strip():
                self._lines.append(line.strip())
        self._pipe.close()

    def text(self) -> str:
        """The last lines, once the child closed its stderr."""
        self._thread.join(timeout=5)
        text = "\n".join(self._lines)
        return text[-_TAIL_CHARS:]


def _failure(shown: str, code: int, tail: str, note: str | None) -> CommandFailedError:
    if code < 0:
        message = _("{command} was killed by signal {signal}").format(command=shown, signal=-code)
    else:
        message = _("{command} failed with exit code {code}").format(command=shown, code=code)
    if note:
        message += "; " + note
    if tail:
        message += ":\n" + tail
    return CommandFailedError(message, hint=_("fix the cause named above and try again"))


class BackgroundCommand:
    """A long-running command we start, watch and wait for (an export writing to a pipe).

    Its stdout and stderr are both read by threads (shown as they come unless
    ``show_output`` is false, and their last lines kept for the error message).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        show_output: bool = True,
        note: str | None = None,
    ) -> None:
        if not argv:
            raise UsageError(_("no command given to read the backup from"))
        self.argv = list(argv)
        self.env = dict(env or {})
        self.secrets = list(secrets)
        self.show_output = show_output
        self.note = note
        self._proc: subprocess.Popen[bytes] | None = None
        self._tails: list[_StderrTail] = []

    @property
    def shown(self) -> str:
        return shown_command(self.argv, self.secrets)

    def _spawn(self, capture_stdout: bool) -> subprocess.Popen[bytes]:
        self._proc = _spawn(
            self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        if not capture_stdout:
            self._tails.append(_StderrTail(self._proc.stdout, self.show_output))
        self._tails.append(_StderrTail(self._proc.stderr, self.show_output))
        return self._proc

    def start(self) -> None:
        self._spawn(capture_stdout=False)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def failure(self) -> CommandFailedError:
        """The error for a command that ended badly (call once it ended)."""
        assert self._proc is not None and self._proc.returncode is not None
        tail = "\n".join(t for t in (tl.text() for tl in self._tails) if t)
        return _failure(self.shown, self._proc.returncode, tail[-_TAIL_CHARS:], self.note)

    def finish(self) -> None:
        """Wait for the command; raise if it failed."""
        assert self._proc is not None
        code = self._proc.wait()
        if code != 0:
            raise self.failure()
        for t in self._tails:
            t.text()

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def close(self) -> None:
        """Kill a command left running (the backup failed) and close its pipes."""
        self.kill()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> BackgroundCommand:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class StreamingCommand(BackgroundCommand):
    """A command whose standard output is the backup (``pg_dump``, a user's command).

    Only its stderr is shown; ``finish()`` failing says that no snapshot was written.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        show_stderr: bool = True,
        note: str | None = None,
    ) -> None:
        super().__init__(
            argv,
            env=env,
            secrets=secrets,
            show_output=show_stderr,
            note=_("no snapshot was written") if note is None else note,
        )

    def start(self) -> BinaryIO:  # type: ignore[override]
        proc = self._spawn(capture_stdout=True)
        return proc.stdout  # type: ignore[return-value]

    def __enter__(self) -> StreamingCommand:
        return self


class FeedingCommand:
    """A command that takes a stream on standard input (``pg_restore``, ``mariadb``)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        show_stderr: bool = True,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env or {})
        self.secrets = list(secrets)
        self.show_stderr = show_stderr

    @property
    def shown(self) -> str:
        return shown_command(self.argv, self.secrets)

    def feed(self, stream: IO[bytes]) -> None:
        """Copy ``stream`` into the command and wait for it.

        If reading ``stream`` fails (a damaged snapshot), the command is killed before its
        input ends, so a restore tool never takes a truncated input for a complete one; that
        reading error is raised. Otherwise a non-zero exit raises CommandFailedError with
        the tool's last lines of stderr.
        """
        proc = _spawn(self.argv, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        tail = _StderrTail(proc.stderr, self.show_stderr)
        out = _StderrTail(proc.stdout, self.show_stderr)  # a client's chatter, same treatment
        pump = _Pump(stream, proc.stdin, proc.kill)
        try:
            pump.start()
            code = proc.wait()
            pump.join()
        except BaseException:
            proc.kill()
            proc.wait()
            pump.join()
            raise
        if pump.error is not None:
            raise pump.error
        if code != 0:
            text = "\n".join(t for t in (out.text(), tail.text()) if t)
            raise _failure(self.shown, code, text[-_TAIL_CHARS:], None)
        out.text()
        tail.text()


class _Pump(threading.Thread):
    """Copies a stream into a child's stdin; on a read error kills the child first."""

    def __init__(self, src: IO[bytes], dst: IO[bytes], kill: Callable[[], None]) -> None:
        super().__init__(name="restore-pump", daemon=True)
        self.src, self.dst, self.kill = src, dst, kill
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while True:
                try:
                    data = self.src.read(_COPY_SIZE)
                except BaseException as exc:  # the snapshot could not be read
                    self.kill()
                    self.error = (
                        exc
                        if isinstance(exc, CadangError)
                        else SourceError(_("cannot read the backup: {reason}").format(reason=exc))
                    )
                    return
                if not data:
                    break
                try:
                    self.dst.write(data)
                except (BrokenPipeError, ValueError):
                    return  # the tool ended early; its exit code tells why
        finally:
            try:
                self.dst.close()
            except (BrokenPipeError, OSError):
                pass


class InteractiveCommand:
    """A command we write lines to and read lines from (a ``psql`` session)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.argv = list(argv)
        self.secrets = list(secrets)
        self._proc = _spawn(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._proc.stderr is not None
        self._tail = _StderrTail(self._proc.stderr, show=False)

    @property
    def shown(self) -> str:
        return shown_command(self.argv, self.secrets)

    def send(self, text: str) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(text.encode("utf-8"))
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise self.ended() from None

    def readline(self) -> str:
        """One line of output; raises when the command ended instead."""
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise self.ended()
        return line.decode("utf-8", "replace")

    def ended(self) -> CommandFailedError:
        code = self._proc.wait()
        return _failure(self.shown, code, self._tail.text(), _("it ended unexpectedly"))

    def finish(self) -> None:
        """Close its input, wait, raise if it failed."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self._proc.wait()
        if code != 0:
            raise _failure(self.shown, code, self._tail.text(), None)

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


@dataclass
class CommandResult:
    """How a short command ended (see :func:`run_command`)."""

    command: str  # as shown (secrets masked)
    code: int | None  # None: it did not finish in time and was killed
    stdout: str
    stderr_tail: str
    timeout: float | None = None
    raw_stdout: bytes = b""  # stdout as the command wrote it (file names need not be UTF-8)

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def message(self) -> str:
        """One line (plus the tool's last lines of stderr on failure) for the operator."""
        if self.code is None:
            return _("{command} did not finish within {seconds} seconds").format(
                command=self.command, seconds=self.timeout
            )
        if self.code == 0:
            return _("{command} succeeded").format(command=self.command)
        return _failure(self.command, self.code, self.stderr_tail, None).message


def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    timeout: float | None = 300,
    secrets: Sequence[str] = (),
) -> CommandResult:
    """Run a short command to completion; its failure is in the result, not raised.

    Only a command that cannot be started at all raises (UsageError). One that runs
    longer than ``timeout`` seconds is killed (code None).
    """
    if not argv:
        raise UsageError(_("no command given"))
    shown = shown_command(argv, secrets)
    try:
        done = subprocess.run(
            list(argv),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            env=child_env(env),
            timeout=timeout,
            check=False,
        )
    except OSError as exc:
        raise cannot_start(argv[0], exc) from None
    except subprocess.TimeoutExpired:
        return CommandResult(shown, None, "", "", timeout)
    lines = [ln.strip() for ln in done.stderr.decode("utf-8", "replace").splitlines()]
    tail = "\n".join([ln for ln in lines if ln][-TAIL_LINES:])[-_TAIL_CHARS:]
    return CommandResult(
        shown, done.returncode, done.stdout.decode("utf-8", "replace"), tail, raw_stdout=done.stdout
    )


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    timeout: float | None = 300,
    secrets: Sequence[str] = (),
) -> str:
    """Run a short command to completion and return its standard output (UTF-8).

    A non-zero exit (or a timeout) raises CommandFailedError quoting the last lines of its
    stderr, which is not shown otherwise (these are queries; their messages belong in the
    error).
    """
    result = run_command(argv, env=env, input=input, timeout=timeout, secrets=secrets)
    if result.code is None:
        raise CommandFailedError(result.message)
    if result.code != 0:
        raise _failure(result.command, result.code, result.stderr_tail, None)
    return result.stdout


# --- named pipes -----------------------------------------------------------------------------


def make_fifo(path: str) -> None:
    """Create a named pipe only its owner can open."""
    os.mkfifo(path, 0o600)


def _check_fifo(path: str) -> None:
    if not stat.S_ISFIFO(os.lstat(path).st_mode):  # pragma: no cover - our own pipe
        raise SourceError(_("{path} is not a named pipe").format(path=path))


def open_fifo_for_reading(path: str, writer: BackgroundCommand) -> BinaryIO:
    """Open the pipe ``writer`` writes to, once it opened it.

    A plain blocking open would hang forever if the tool fails before it opens the pipe, so
    the pipe is opened without blocking and polled until the writer has connected (data or
    hang-up), checking all the while that the tool still runs.
    """
    _check_fifo(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        while True:
            if poller.poll(int(_POLL_SECONDS * 1000)):
                break  # the writer connected (Linux reports HUP only after one did)
            if not writer.running():
                # It may have written everything and closed in between two polls.
                if poller.poll(0):
                    break
                writer.finish()  # raises with its reason
                raise CommandFailedError(  # it succeeded without ever opening the pipe
                    _("{command} ended without writing to {path}").format(
                        command=writer.shown, path=path
                    )
                )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_fifo_for_writing(path: str, reader: BackgroundCommand) -> BinaryIO:
    """Open the pipe ``reader`` reads from, once it opened it (polling like above)."""
    _check_fifo(path)
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
        if not reader.running():
            reader.finish()
            raise CommandFailedError(
                _("{command} ended without reading from {path}").format(
                    command=reader.shown, path=path
                )
            )
        time.sleep(_POLL_SECONDS)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "wb")
