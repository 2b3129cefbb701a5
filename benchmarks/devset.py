"""Score cnaps on the development prompts (../shared/prompts-dev): answer each one and check it
against expected.json, per check.

Checks (each prompt, where it applies):
- task: the classified task id;
- scales: the asked scales, as a set;
- degradations: the input degradations, as a set (an extra one is a false alarm);
- relevance: each expert label (relevant / tangential) on a related paper, matched by title prefix;
- demo: a demo ran exactly when expected, at an asked scale (or, above the photo's limit, at
  that limit), and on a clean input up to x16 the model beat bicubic (PSNR);
- demo-vs-request: the demo did what the request *as read* asks (its scale rule and its
  degradations): separates the demo's own misses from those of a misread request;
- sources: no `must_not_contain` string in answer.md or answer.html, and every URL in answer.md
  is one the prompt gave;
- internals: no classifier evidence line in answer.md;
- error: a malformed prompt is refused with a CnapsError, a good one is not.

Usage: `python benchmarks/devset.py [PROMPTS_DIR] [--no-demo] [--json OUT] [--only d07,d29]`.
Demos take seconds each on a CPU: run it with `nice`, in the background.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT.parent / "shared" / "prompts-dev"
CHECKS = ("task", "scales", "degradations", "relevance", "demo", "demo-vs-request", "sources",
          "internals", "error")
CLEAN_BEATS_BICUBIC_UP_TO = 16.0


def _same_scales(a, b) -> bool:
    return sorted({round(float(x), 3) for x in a}) == sorted({round(float(x), 3) for x in b})


def check_prompt(path: Path, expected: dict, demo: bool = True) -> dict:
    """{check: (passed, total, note)} for one prompt; checks that do not apply are left out."""
    from cnaps.answer.stage6_demo import largest_scale, photo_short_side
    from cnaps.errors import CnapsError
    from cnaps.answer.stage8_guard import find_urls
    from cnaps.answer.links import normalize_url
    from cnaps.answer.pipeline import make_report
    from cnaps.answer.records import AnswerOptions

    out: dict[str, tuple[int, int, str]] = {}
    try:
        report = make_report(path, AnswerOptions(demo=demo))
    except CnapsError as exc:
        out["error"] = (int(bool(expected.get("error"))), 1, f"refused: {exc}")
        return out
    out["error"] = (int(not expected.get("error")), 1, "answered")
    if expected.get("error"):
        return out
    rec = report.record
    out["task"] = (int(rec.classification.task_id == expected["task"]), 1,
                   rec.classification.task_id)
    out["scales"] = (int(_same_scales(rec.request.scales, expected["scales"])), 1,
                     str(rec.request.scales))
    out["degradations"] = (int(set(rec.request.degradations) == set(expected["degradations"])),
                           1, str(rec.request.degradations))
    labels = expected.get("relevance") or {}
    if labels:
        got = {j.title: j.relevance for j in rec.related}
        ok, notes = 0, []
        for prefix, label in labels.items():
            verdict = next((v for t, v in got.items() if t.startswith(prefix)), None)
            ok += verdict == label
            if verdict != label:
                notes.append(f"{prefix}…: {verdict} (expected {label})")
        out["relevance"] = (ok, len(labels), "; ".join(notes))
    if demo:
        top = largest_scale(photo_short_side(None))
        out["demo"] = _demo_check(rec, expected, top)
        if expected.get("demo"):
            read = dict(expected, scales=rec.request.scales,
                        degradations=rec.request.degradations)
            out["demo-vs-request"] = _demo_check(rec, read, top)
    text = report.markdown + report.html
    leaked = [s for s in expected.get("must_not_contain", []) if s in text]
    from cnaps.answer.stage1_prompt import load_prompt

    allowed = set(load_prompt(path).allowed_urls)
    foreign = []
    for url in find_urls(report.markdown):
        try:
            if normalize_url(url) not in allowed:
                foreign.append(url)
        except CnapsError:
            foreign.append(url)
    out["sources"] = (int(not leaked and not foreign), 1,
                      "; ".join([f"contains {s!r}" for s in leaked] + foreign))
    inside = [e for e in rec.classification.evidence if e in report.markdown]
    out["internals"] = (int(not inside), 1, "; ".join(inside))
    return out


def _demo_check(rec, expected: dict, top: float) -> tuple[int, int, str]:
    demo = rec.demo
    if not expected.get("demo"):
        return int(demo is None), 1, "no demo" if demo is None else f"ran x{demo.scale:g}"
    if demo is None:
        return 0, 1, f"no demo: {rec.no_demo_reason}"
    asked = [float(s) for s in expected["scales"]]
    allowed = [s for s in asked if s <= top] or ([top] if asked else [4.0])
    problems = []
    if round(demo.scale, 3) not in {round(s, 3) for s in allowed}:
        problems.append(f"ran x{demo.scale:g}, asked {asked}")
    if set(demo.degradations) != set(expected["degradations"]):
        problems.append(f"demo degradations {demo.degradations}")
    if not demo.degradations and demo.scale <= CLEAN_BEATS_BICUBIC_UP_TO \
            and demo.psnr.model <= demo.psnr.bicubic:
        problems.append(f"clean x{demo.scale:g}: {demo.psnr.model:.2f} <= bicubic "
                        f"{demo.psnr.bicubic:.2f} dB")
    note = "; ".join(problems) or (f"x{demo.scale:g}: {demo.psnr.model:.2f} vs bicubic "
                                   f"{demo.psnr.bicubic:.2f} dB")
    return int(not problems), 1, note


def score(prompts_dir: Path = DEFAULT_DIR, demo: bool = True, log=None,
          only: list[str] | None = None) -> dict:
    """Per-prompt results and per-check totals: {"prompts": {...}, "totals": {check: [ok, n]},
    "fully_right": k, "count": n}."""
    expected = json.loads((prompts_dir / "expected.json").read_text())
    prompts, totals = {}, {c: [0, 0] for c in CHECKS}
    for name, want in sorted(expected.items()):
        if only and name not in only:
            continue
        result = check_prompt(prompts_dir / f"{name}.txt", want, demo=demo)
        prompts[name] = result
        for check, (ok, n, _) in result.items():
            totals[check][0] += ok
            totals[check][1] += n
        if log:
            bad = {c: note for c, (ok, n, note) in result.items() if ok < n}
            log(f"{name}: {'ok' if not bad else bad}")
    fully = sum(all(ok == n for ok, n, _ in r.values()) for r in prompts.values())
    return {"prompts": prompts, "totals": totals, "fully_right": fully, "count": len(prompts)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prompts_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--no-demo", action="store_true", help="skip the demos (fast)")
    parser.add_argument("--json", type=Path, help="write the full results here")
    parser.add_argument("--only", help="comma-separated prompt names, e.g. d07,d29")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    result = score(args.prompts_dir, demo=not args.no_demo,
                   log=lambda line: print(line, flush=True),
                   only=args.only.split(",") if args.only else None)
    for check, (ok, n) in result["totals"].items():
        print(f"{check:13s} {ok}/{n}")
    print(f"fully right   {result['fully_right']}/{result['count']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
