"""The many-prompts side of `cnaps answer`: its options, and the run with its closing summary.
(The work itself is in `cnaps.collection`; this module only speaks to the user.)"""

from __future__ import annotations

from pathlib import Path

import click

from cnaps.answer.records import AnswerOptions
from cnaps.collection import (
    CollectionOptions,
    answer_collection,
    expand_prompts,
)
from cnaps.parallel import parallel_options

DEFAULT_COLLECTION_OUT = Path("runs") / "answers"


def collection_cli_options(command):
    """--jobs, --ray, --force (cnaps.parallel), the demo cache's options and --quiet."""
    command = click.option("-q", "--quiet", is_flag=True,
                           help="No progress bar (many prompts).")(command)
    command = click.option(
        "--cache-dir", type=click.Path(file_okay=False), default=None,
        help="Demo cache folder [default: $CNAPS_HOME/cache/demos]; with --ray on a "
             "cluster, a path every worker shares.")(command)
    command = click.option("--no-cache", is_flag=True,
                           help="Always run the demo; neither read nor write the demo cache."
                           )(command)
    return parallel_options(command)


def cache_folder(batch: dict) -> str | None:
    from cnaps.answer.demo_cache import default_dir

    if batch.get("no_cache"):
        return None
    return str(Path(batch.get("cache_dir") or default_dir()).resolve())


def configure_cache(batch: dict) -> None:
    """One prompt: the demo cache as the options say (and a --ray value checked, so a
    folder swallowed as its address is not silently dropped)."""
    from cnaps.answer import demo_cache
    from cnaps.parallel import check_ray_address

    check_ray_address(batch.get("ray_address"))
    demo_cache.configure(cache_folder(batch))


def run_collection(args, out_dir, answer_options: AnswerOptions, *, jobs, ray_address, force,
                   no_cache, cache_dir, quiet) -> int:
    """Answer every prompt; print the tally and each failure; 0 if all answered, else 1."""
    prompts = expand_prompts(list(args))
    if answer_options.image is not None:  # workers (Ray's) need not share our working folder
        answer_options = answer_options.model_copy(
            update={"image": str(Path(answer_options.image).resolve())})
    options = CollectionOptions(answer=answer_options, force=force,
                                cache_dir=cache_folder({"no_cache": no_cache,
                                                        "cache_dir": cache_dir}))
    out = Path(out_dir) if out_dir else DEFAULT_COLLECTION_OUT
    rows = answer_collection(prompts, out, options, jobs=jobs, ray=ray_address, quiet=quiet)
    failed = [r for r in rows if r.status == "failed"]
    done = sum(r.status == "answered" for r in rows)
    fresh = sum(r.status == "up to date" for r in rows)
    click.echo(f"{len(rows)} prompts: {done} answered, {fresh} up to date, {len(failed)} "
               f"failed; wrote {out}/index.md, index.html, summary.jsonl")
    for r in failed:
        name = Path(r.prompt).name
        reason = r.reason if (r.reason or "").startswith(name) else f"{name}: {r.reason}"
        click.echo(f"failed: {reason}", err=True)
    return 1 if failed else 0
