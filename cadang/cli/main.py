"""The ``cadang`` command: parse, call the layer below, print. Errors become messages."""

from __future__ import annotations

import importlib
import sys

import click

from cadang import __version__
from cadang.cli.common import GlobalOptions
from cadang.errors import CadangError
from cadang.i18n import _

# One module per command (group) under cadang.cli; each exposes ``command``.
COMMANDS = [
    "init",
    "backup",
    "snapshots",
    "ls",
    "diff",
    "find",
    "restore",
    "dump",
    "export",
    "check",
    "forget",
    "prune",
    "key",
    "copy",
    "unlock",
    "plan",
    "run",
    "history",
    "check-before",
    "verify",
    "status",
    "serve",
    "admin",
    "audit",
]


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or help lists it), so
    every command starts without loading the code of all the others."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command: click.Command = importlib.import_module(
            "cadang.cli." + cmd_name.replace("-", "_")
        ).command
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help=_("Cadang: deduplicated, compressed, encrypted backups."),
)
@click.version_option(__version__, prog_name="cadang")
@click.option(
    "-c",
    "--config",
    envvar="CADANG_CONFIG",
    metavar="FILE",
    help=_(
        "The plan file (env CADANG_CONFIG), for plan, check-before, run, verify, status, "
        "history and restore."
    ),
)
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    ctx.obj = GlobalOptions(config=config or None)


def main(argv: list[str] | None = None) -> int:
    try:
        # Without standalone mode, click returns the code of ``ctx.exit(code)`` in a command.
        rv = cli.main(args=argv, prog_name="cadang", standalone_mode=False)
    except CadangError as exc:
        click.echo(_("cadang: {message}").format(message=exc.message), err=True)
        if exc.hint:
            click.echo(_("  hint: {hint}").format(hint=exc.hint), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo(_("cadang: interrupted"), err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo(_("cadang: interrupted"), err=True)
        return 130
    except BrokenPipeError:
        return 0
    except SystemExit:
        # click turns a closed stdout (``cadang ls latest | head``) into exit(1) after
        # swapping stdout for its PacifyFlushWrapper; that is the reader's choice, not an error.
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            return 0
        raise
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0


if __name__ == "__main__":
    sys.exit(main())
