"""An answer on disk: the folder `write_report` fills, all or nothing.

`write_report` puts a `Report`'s files in a folder through a temporary sibling that is renamed
into place, so a failure never leaves a half-written answer: answer.md, answer.html
(self-contained: images inlined), answer.json (`AnswerRecord`) and images/.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from cnaps.answer.records import AnswerRecord, Report
from cnaps.output import check_folder_target, write_folder

ANSWER_FILES = ("answer.md", "answer.html", "answer.json")
# The collection run's skip-if-done stamp (cnaps.collection), written beside an answer.
DONE_FILE = ".cnaps-done.json"
OWNED = ANSWER_FILES + ("images", DONE_FILE)  # what cnaps may replace in an answer folder


def normalised_record(record: AnswerRecord | dict) -> dict:
    """answer.json without what varies between machines and runs: timings, and metrics beyond
    3 decimals (the golden files compare this)."""
    data = record.model_dump(mode="json") if isinstance(record, BaseModel) else json.loads(
        json.dumps(record))
    demo = data.get("demo")
    if demo:
        demo.pop("seconds", None)
        for metric in ("psnr", "ssim"):
            demo[metric] = {k: round(v, 3) for k, v in demo[metric].items()}
    return data


def default_out_dir(prompt_path: str | Path) -> Path:
    return Path("runs") / Path(prompt_path).stem


def check_answer_folder(out_dir: str | Path) -> None:
    """OutputError now, before any work, if write_report could not write out_dir."""
    check_folder_target(out_dir, owned=OWNED, marker="answer.json")


def write_report(report: Report, out_dir: str | Path) -> Path:
    """Write the report into out_dir, replacing a previous answer there, all or nothing
    (cnaps.output.write_folder: never deletes files cnaps did not write)."""
    files = {"answer.md": report.markdown.encode("utf-8"),
             "answer.html": report.html.encode("utf-8"),
             "answer.json": report.json_text().encode("utf-8"), **report.images}
    write_folder(out_dir, files, owned=OWNED, marker="answer.json")
    return Path(out_dir)
