"""`cnaps answer`: answer one prompt file and prove it by running the model."""

from __future__ import annotations

import click

from cnaps.answer.folder import check_answer_folder, default_out_dir, write_report
from cnaps.answer.pipeline import make_report
from cnaps.answer.records import AnswerOptions
from cnaps.collection import is_collection
from cnaps.errors import ConfigError
from cnaps.cli.collection import (
    collection_cli_options,
    configure_cache,
    run_collection,
)


@click.command("answer")
@click.argument("prompts", metavar="PROMPT_OR_DIR...", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Output folder [default: runs/<prompt file stem>/; runs/answers/ for many].")
@click.option("--image", type=click.Path(dir_okay=False),
              help="Photo for the demo [default: scikit-image's astronaut].")
@click.option("--scale", type=float, help="Demo scale [default: from the question, else x4].")
@click.option("--no-demo", is_flag=True, help="Do not run the model; answer from sources only.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the demo's noise.")
@click.option("--writer", type=click.Choice(["evidence", "llm"]), default="evidence", show_default=True,
              help="Who writes 'What the sources say' for models cnaps cannot run: the sources' "
                   "own sentences, or a language model behind the citation guard.")
@click.option("--endpoint", help="--writer llm: base URL of an OpenAI-compatible server "
                                 "(e.g. http://127.0.0.1:11434 for Ollama).")
@click.option("--model", "llm_model", help="--writer llm: the model name the server knows.")
@collection_cli_options
def answer(prompts, out_dir, image, scale, no_demo, seed, writer, endpoint, llm_model, **batch):
    """Answer the question in each prompt file, citing only the prompt's sources.

    Writes answer.md (three numbered sections), answer.html (self-contained page),
    answer.json (machine-readable) and images/ (input, bicubic, model output, ground truth,
    side-by-side comparison) into the output folder, all or nothing. When a recommended model
    is one cnaps can run (LIIF), a demo upscales a real photo at the question's scale with its
    degradations and measures PSNR/SSIM against bicubic.

    Several files, folders (their *.txt) or globs: one folder per prompt under --out, plus
    index.md, index.html and summary.jsonl; exit code 1 when some prompts failed.
    """
    options = AnswerOptions(demo=not no_demo, image=image, scale=scale, seed=seed)
    llm = llm_settings(writer, endpoint, llm_model, is_collection(prompts))
    if is_collection(prompts):
        return run_collection(prompts, out_dir, options, **batch)
    configure_cache(batch)
    prompt_file = prompts[0]
    out_dir = out_dir or default_out_dir(prompt_file)
    check_answer_folder(out_dir)  # a bad --out fails before the demo runs
    report = make_report(prompt_file, options, llm)
    target = write_report(report, out_dir)
    click.echo(f"wrote {target}/answer.md, answer.html, answer.json"
               + (", images/" if report.images else ""))
    removed = report.record.guard.removed
    if removed:
        click.echo(f"citation guard removed {len(removed)} URL(s) not given by the prompt: "
                   + ", ".join(removed), err=True)


def llm_settings(writer: str, endpoint: str | None, model: str | None, collection: bool):
    """The language-model writer's settings, or None for the evidence writer (no network)."""
    if writer != "llm":
        if endpoint or model:
            raise ConfigError("--endpoint and --model are for --writer llm; add --writer llm or drop them")
        return None
    if not endpoint or not model:
        raise ConfigError("--writer llm needs --endpoint URL and --model NAME (an OpenAI-compatible "
                          "server, e.g. --endpoint http://127.0.0.1:11434 --model smollm2)")
    if collection:
        raise ConfigError("--writer llm answers one prompt at a time; give one prompt file")
    from cnaps.answer.llm_writer import LLMSettings

    return LLMSettings(endpoint=endpoint, model=model)
