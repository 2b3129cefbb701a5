"""Hostile prompt files (issue 10): huge files, FIFOs and devices are refused at once."""

import os
import time

import pytest

from cnaps.errors import PromptError
from cnaps.answer.stage1_prompt import MAX_PROMPT_BYTES, load_prompt


def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def big_file(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * (10 * 1024 * 1024))  # once took 78 s to parse
    return path


@pytest.mark.parametrize("make, message", [
    (fifo, "not a regular file"),
    (lambda tmp_path: "/dev/zero", "not a regular file"),
    (big_file, "is over 1 MB"),
    (lambda tmp_path: tmp_path, "Is a directory"),
])
def test_unreadable_kinds_of_prompt_are_refused_quickly(tmp_path, make, message):
    started = time.perf_counter()
    with pytest.raises(PromptError, match=message):
        load_prompt(make(tmp_path))
    assert time.perf_counter() - started < 2


def test_prompt_at_the_cap_is_read(tmp_path):
    """The cap refuses only what is over it: a file of exactly MAX_PROMPT_BYTES is parsed (and
    fails on its content, not its size)."""
    path = tmp_path / "edge.txt"
    path.write_bytes(b"x" * MAX_PROMPT_BYTES)
    with pytest.raises(PromptError) as exc:
        load_prompt(path)
    assert "is over" not in str(exc.value)


def test_a_prompt_whose_models_have_no_link_at_all_is_refused(tmp_path, capsys):
    """Its answer could cite nothing for the models it explains: exit 2, one line, nothing written."""
    from cnaps.cli import main

    path = tmp_path / "nolinks.txt"
    path.write_text('A user has asked the following question:\n"Make it 3x bigger."\n\n'
                    "### Recommended AI Models:\nModel: SISR-Any-LIIF-EDSR\n\nModel: DN-DnCNN\n")
    with pytest.raises(PromptError, match="no recommended model has a 'Paper:' or 'GitHub:' link"):
        load_prompt(path)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["answer", str(path), "--out", str(out)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0] and not out.exists()
