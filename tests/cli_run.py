"""Run the cnaps command line in-process, as a user would, and collect what it printed."""

from __future__ import annotations

import pytest

from cnaps.cli import main


def run(args, capsys):
    """(exit code, stdout, stderr) of `cnaps ARGS`."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err
