"""`cnaps data`: assemble a training folder from photos a user can install."""

from __future__ import annotations

from pathlib import Path

import click

from cnaps.output import check_can_write, removed_on_failure

# Below this, photos are too small to cut training crops from (lr_size 48 at x4 needs 192 px).
MIN_MAX_SIDE = 64


@click.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--cache", type=click.Path(file_okay=False), default=None,
              help="Where the Debian packages are downloaded and extracted "
                   "(default: the cnaps cache folder).")
@click.option("--debian/--no-debian", default=True, show_default=True,
              help="Include the Debian wallpaper packages (needs apt-get and dpkg).")
@click.option("--package", "packages", multiple=True,
              help="Debian package to use (repeatable; default: all known wallpaper packages).")
@click.option("--max-side", type=click.IntRange(min=MIN_MAX_SIDE), default=2048,
              show_default=True,
              help="Downscale larger photos to this long side (also softens JPEG artefacts).")
def data(out, cache, debian, packages, max_side):
    """Build a folder of HR training photos in OUT, with manifest.json.

    Sources: scikit-image's bundled photos and the Debian wallpaper packages (downloaded with
    `apt-get download` and unpacked with `dpkg -x`, never installed). The manifest records each
    image's source package, original path, license (from the package's copyright file) and
    sha256.
    """
    import platformdirs

    from cnaps.sr.photos import DEBIAN_PACKAGES, assemble

    cache = Path(cache) if cache else Path(platformdirs.user_cache_dir("cnaps")) / "debs"
    chosen = list(packages) or DEBIAN_PACKAGES
    check_can_write(out, "OUT")  # before any download
    if debian:
        check_can_write(cache, "--cache")
    with removed_on_failure(out):
        entries = assemble(out, cache, debian=chosen if debian else [], max_side=max_side,
                           progress=True)
    by_source: dict[str, int] = {}
    for e in entries:
        by_source[e.source] = by_source.get(e.source, 0) + 1
    click.echo(f"{len(entries)} images in {out} ("
               + ", ".join(f"{n} from {s}" for s, n in sorted(by_source.items()))
               + f"); sources and licenses in {Path(out) / 'manifest.json'}")
