"""`cnaps weights`: list, pull and add model weights in the local cache."""

from __future__ import annotations

from pathlib import Path

import click

from cnaps.sr import weights as store


@click.group()
def weights():
    """Manage LIIF weights in the local cache ($CNAPS_HOME/weights or the user cache folder)."""


@weights.command("list")
def list_cmd():
    """Show known and installed weights."""
    installed = store.installed()
    click.echo(f"cache: {store.cache_dir()}")
    for name in sorted(set(store.KNOWN) | set(installed)):
        entry = installed.get(name)
        known = store.KNOWN.get(name)
        state = "installed" if entry else "not installed"
        desc = known.description if known else f"user weights ({entry.encoder})"
        click.echo(f"{name:28} {state:14} {desc}")
        if entry:
            click.echo(f"{'':28} sha256 {entry.sha256[:16]}…  {entry.file}")
        elif known:
            click.echo(f"{'':28} get it: {known.how_to_get}")


@weights.command()
@click.argument("name")
def pull(name):
    """Download known weights NAME (e.g. liif-edsr-baseline) and verify size and sha256."""
    entry = store.pull(name)
    click.echo(f"{entry.name}: {entry.size} bytes, sha256 {entry.sha256} -> {entry.file}")


@weights.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", default=None, help="Name to register it under (default: the known "
              "release it matches, else custom-<encoder>-<sha>).")
def add(path, name):
    """Validate the LIIF checkpoint at PATH and copy it into the cache."""
    entry = store.add(path, name)
    click.echo(f"{entry.name}: {entry.encoder} encoder, sha256 {entry.sha256} -> {entry.file}")
