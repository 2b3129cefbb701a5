"""The `cnaps` command line. Each subcommand lives in its own module of this package; the
docstring of each command is its --help text. User-facing errors (`CnapsError`) become one
line on stderr and exit code 2, here and nowhere else."""

from __future__ import annotations

import importlib
import sys

import click

from cnaps.errors import CnapsError

# (module, attribute) of every subcommand, imported lazily so `cnaps --help` stays fast.
COMMANDS = {
    "answer": ("cnaps.cli.answer", "answer"),
    "catalog": ("cnaps.cli.catalog", "catalog"),
    "check": ("cnaps.cli.check", "check"),
    "upscale": ("cnaps.cli.upscale", "upscale"),
    "weights": ("cnaps.cli.weights", "weights"),
    "eval": ("cnaps.cli.eval", "eval_cmd"),
    "train": ("cnaps.cli.train", "train"),
    "data": ("cnaps.cli.data", "data"),
    "run": ("cnaps.cli.run", "run"),
    "serve": ("cnaps.cli.serve", "serve"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cnaps")
def cli():
    """cnaps: answer questions about AI image models, and prove it by running the model."""


def main(argv=None):
    """Entry point: runs the CLI, turning user errors into one clean line and exit code 2."""
    try:
        result = cli.main(args=argv, prog_name="cnaps", standalone_mode=False)
    except CnapsError as exc:
        # One line even when a message quotes a multi-line library error.
        click.echo("error: " + " ".join(line.strip() for line in str(exc).splitlines()
                                        if line.strip()), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        # Usage errors (unknown option, bad value): click's own message, one line, exit 2.
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except OSError as exc:
        # The environment refused (a read-only disk, a file where a folder should be, ...):
        # commands map the errors they expect; this is the net for the rest, still one line.
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(f"error: cannot access{where}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except MemoryError:
        click.echo("error: ran out of memory; try a smaller --tile or a smaller image", err=True)
        sys.exit(2)
    # A command may return an int exit status (e.g. `check` reporting differences).
    sys.exit(result if isinstance(result, int) else 0)
