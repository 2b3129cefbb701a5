"""`cnaps catalog list` and `cnaps catalog refresh`."""

from __future__ import annotations

from pathlib import Path

import click

from cnaps.answer.catalog import github_repo, load_catalog
from cnaps.answer.catalog_refresh import ARXIV_API, GITHUB_API
from cnaps.answer.catalog_refresh import refresh as do_refresh
from cnaps.answer.stage1_prompt import load_prompt


@click.group()
def catalog():
    """What cnaps knows: tasks, model families, papers (catalog/*.toml)."""


@catalog.command("list")
def list_cmd():
    """Print the catalog's tasks and model families (with cached metadata when present)."""
    cat = load_catalog()
    click.echo("Tasks:")
    for task in cat.tasks:
        click.echo(f"  {task.id:<36} {task.name}")
    click.echo("Model families (first match wins):")
    for model in cat.models:
        run = f"runnable, weights {model.weights}" if model.runnable else "not runnable"
        click.echo(f"  {model.id:<20} {model.task:<36} {run}; names like {', '.join(model.patterns[:3])}")
    click.echo("Papers:")
    for paper in cat.papers:
        meta = cat.paper_meta.get(paper.arxiv_id)
        cached = f" [{meta.primary_category}, {meta.published}]" if meta else ""
        click.echo(f"  arXiv {paper.arxiv_id} {paper.short_name}: {paper.title} ({len(paper.facts)} facts){cached}")
    for repo in cat.github_repos():
        meta = cat.repo_meta.get(repo)
        cached = f" {meta.stars} stars, {meta.license or 'no license'}, branch {meta.default_branch}" if meta else ""
        click.echo(f"  github.com/{repo}{cached}")


@catalog.command()
@click.argument("prompts", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--arxiv-api", envvar="CNAPS_ARXIV_API", default=ARXIV_API,
              show_default=True, help="arXiv query API URL (env CNAPS_ARXIV_API).")
@click.option("--github-api", envvar="CNAPS_GITHUB_API", default=GITHUB_API,
              show_default=True, help="GitHub REST API base URL (env CNAPS_GITHUB_API).")
@click.option("--cache-dir", envvar="CNAPS_CATALOG_CACHE", type=click.Path(file_okay=False, path_type=Path),
              help="Where the JSON cache goes (env CNAPS_CATALOG_CACHE; default catalog/cache).")
def refresh(prompts, arxiv_api, github_api, cache_dir):
    """Fetch arXiv and GitHub metadata for the catalog (and PROMPTS' links) into the cache.

    Needs the network; on any failure nothing is written and the old cache stays in use.
    """
    ids, repos = [], []
    for path in prompts:
        prompt = load_prompt(path)
        ids += [m.arxiv_id for m in prompt.models if m.arxiv_id] + [r.arxiv_id for r in prompt.related if r.arxiv_id]
        repos += [github_repo(m.github_url) for m in prompt.models if m.github_url]
    report = do_refresh(ids, repos, cache=cache_dir, arxiv_api=arxiv_api, github_api=github_api)
    click.echo(f"arXiv: {len(report.papers)} paper(s) refreshed; {report.abstracts} abstract(s) in the paper store")
    click.echo(f"GitHub: {len(report.repos)} repo(s) refreshed, {len(report.unchanged_repos)} unchanged (304)")
    click.echo(f"cache: {report.cache}")
