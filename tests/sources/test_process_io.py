"""The subprocess module: secrets in the environment, stderr in errors, feeding, pipes."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from cadang.errors import CommandFailedError, IntegrityError, UsageError
from cadang.sources.process import (
    BackgroundCommand,
    FeedingCommand,
    InteractiveCommand,
    StreamingCommand,
    make_fifo,
    open_fifo_for_reading,
    open_fifo_for_writing,
    run,
    run_command,
    shown_command,
)

PY = sys.executable


def test_secrets_reach_the_child_only_and_are_masked() -> None:
    argv = [PY, "-c", "import os; print(os.environ['CADANG_T_SECRET'], end='')", "--pw=s3cret"]
    with StreamingCommand(argv, env={"CADANG_T_SECRET": "s3cret"}, secrets=["s3cret"]) as cmd:
        assert cmd.start().read() == b"s3cret"
        cmd.finish()
        assert "s3cret" not in cmd.shown and "--pw=***" in cmd.shown
    assert "CADANG_T_SECRET" not in os.environ
    assert shown_command(["a b", "c"]) == "'a b' c"


def test_stderr_is_shown_and_its_tail_is_in_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    script = (
        "import sys\n"
        "for i in range(30): sys.stderr.write(f'line {i}\\n')\n"
        "sys.stderr.write('pg_dump: error: connection lost\\n'); sys.exit(2)"
    )
    with StreamingCommand([PY, "-c", script]) as cmd:
        cmd.start().read()
        with pytest.raises(CommandFailedError) as err:
            cmd.finish()
    message = err.value.message
    assert "exit code 2" in message and "no snapshot was written" in message
    assert message.rstrip().endswith("pg_dump: error: connection lost")
    assert "line 29" in message and "line 3\n" not in message  # only the last lines
    assert "line 0" in capsys.readouterr().err  # every line was shown as it came


def test_feeding_copies_the_stream_and_reports_failures(tmp_path: Path) -> None:
    out = tmp_path / "out"
    data = os.urandom(5 * 1024 * 1024)
    copy = [
        PY,
        "-c",
        "import sys; open(sys.argv[1], 'wb').write(sys.stdin.buffer.read())",
        str(out),
    ]
    FeedingCommand(copy).feed(io.BytesIO(data))
    assert out.read_bytes() == data

    failing = [PY, "-c", "import sys; sys.stdin.buffer.read(10); print('ERROR 1064 at line 1');"
               " sys.exit(1)"]  # fmt: skip
    with pytest.raises(CommandFailedError, match="exit code 1") as err:
        FeedingCommand(failing).feed(io.BytesIO(data))
    assert "ERROR 1064" in err.value.message  # a client's stdout counts as its message too


class _Damaged(io.RawIOBase):
    """A snapshot stream that fails half-way, as a damaged blob would."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        if self.sent >= 2 * 1024 * 1024:
            raise IntegrityError("blob 1234abcd does not match its id")
        n = len(b)
        b[:n] = b"x" * n
        self.sent += n
        return n


def test_a_damaged_stream_kills_the_restore_tool_before_its_input_ends(tmp_path: Path) -> None:
    marker = tmp_path / "committed"
    # Commits only if its input ends normally; killed, it never gets there.
    tool = [PY, "-c", "import sys; sys.stdin.buffer.read(); open(sys.argv[1], 'w').write('x')",
            str(marker)]  # fmt: skip
    with pytest.raises(IntegrityError, match="does not match"):
        FeedingCommand(tool).feed(io.BufferedReader(_Damaged()))
    assert not marker.exists()


def test_run_and_run_command() -> None:
    assert run([PY, "-c", "print('datname')"]) == "datname\n"
    with pytest.raises(CommandFailedError, match="exit code 2") as err:
        run([PY, "-c", "import sys; sys.stderr.write('psql: FATAL: no such role\\n'); sys.exit(2)"])
    assert "psql: FATAL: no such role" in err.value.message
    with pytest.raises(CommandFailedError, match=r"did not finish within 0\.5 seconds"):
        run([PY, "-c", "import time; time.sleep(10)"], timeout=0.5)
    with pytest.raises(UsageError, match="command not found"):
        run(["/nonexistent/psql"])

    ok = run_command([PY, "-c", "print('up')"])
    assert ok.ok and ok.stdout == "up\n" and "succeeded" in ok.message
    bad = run_command([PY, "-c", "import sys; sys.stderr.write('nginx: failed\\n'); sys.exit(1)"])
    assert not bad.ok and bad.code == 1 and "nginx: failed" in bad.message
    slow = run_command([PY, "-c", "import time; time.sleep(10)"], timeout=0.5)
    assert not slow.ok and slow.code is None and "did not finish" in slow.message


def test_interactive_command_talks_line_by_line() -> None:
    echo = [PY, "-u", "-c", "import sys\nfor line in sys.stdin: print(line.strip().upper())"]
    session = InteractiveCommand(echo)
    session.send("select 1\n")
    assert session.readline() == "SELECT 1\n"
    session.send("two\n")
    assert session.readline() == "TWO\n"
    session.finish()

    dying = InteractiveCommand(
        [PY, "-c", "import sys; sys.stderr.write('FATAL: gone\\n'); sys.exit(2)"]
    )
    with pytest.raises(CommandFailedError, match="FATAL: gone"):
        dying.readline()
    dying.kill()


def test_fifo_reading_and_writing(tmp_path: Path) -> None:
    pipe = str(tmp_path / "p")
    make_fifo(pipe)
    data = os.urandom(2 * 1024 * 1024)
    (tmp_path / "src").write_bytes(data)
    writer = BackgroundCommand(
        [PY, "-c", "import sys; open(sys.argv[1], 'wb').write(open(sys.argv[2], 'rb').read())",
         pipe, str(tmp_path / "src")]
    )  # fmt: skip
    writer.start()
    with open_fifo_for_reading(pipe, writer) as f:
        assert f.read() == data
    writer.finish()

    reader = BackgroundCommand(
        [PY, "-c", "import sys; open(sys.argv[2], 'wb').write(open(sys.argv[1], 'rb').read())",
         pipe, str(tmp_path / "dst")]
    )  # fmt: skip
    reader.start()
    with open_fifo_for_writing(pipe, reader) as f:
        f.write(data)
    reader.finish()
    assert (tmp_path / "dst").read_bytes() == data


def test_fifo_does_not_hang_when_the_tool_dies_before_opening_it(tmp_path: Path) -> None:
    pipe = str(tmp_path / "p")
    make_fifo(pipe)
    dies = [PY, "-c", "import sys; sys.stderr.write('ORA-01017: invalid password\\n'); sys.exit(1)"]
    for opener in (open_fifo_for_reading, open_fifo_for_writing):
        cmd = BackgroundCommand(dies)
        cmd.start()
        with pytest.raises(CommandFailedError, match="ORA-01017"):
            opener(pipe, cmd)
        cmd.close()
    quiet = BackgroundCommand([PY, "-c", "pass"])  # succeeds but never touches the pipe
    quiet.start()
    with pytest.raises(CommandFailedError, match="without writing"):
        open_fifo_for_reading(pipe, quiet)
