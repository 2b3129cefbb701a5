"""The catalog data: loads, validates, matches model names, states facts with sources; `catalog list`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cnaps.answer.catalog import CATALOG_DIR, github_repo, load_catalog
from cnaps.cli import main
from cnaps.errors import ConfigError

REQUIRED_TASKS = {
    "arbitrary-scale-super-resolution", "fixed-scale-super-resolution", "image-denoising", "image-deblurring",
    "image-inpainting", "image-generation", "image-quality-assessment", "image-classification", "unknown",
}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_required_tasks_present(catalog):
    assert REQUIRED_TASKS <= {t.id for t in catalog.tasks}
    for task in catalog.tasks:
        assert task.name and task.description
        if task.id != "unknown":
            assert task.core and task.keywords and task.examples


@pytest.mark.parametrize("name, family, task", [
    ("SISR-Any-LIIF-RDN", "liif-rdn", "arbitrary-scale-super-resolution"),
    ("SISR-Any-LIIF-EDSR", "liif-edsr", "arbitrary-scale-super-resolution"),
    ("sisr-any-liif-edsr-baseline", "liif-edsr", "arbitrary-scale-super-resolution"),
    ("LIIF", "liif", "arbitrary-scale-super-resolution"),
    ("SISR-Any-MetaSR", "arbitrary-scale-sr", "arbitrary-scale-super-resolution"),
    ("SISR-x4-EDSR", "fixed-scale-sr", "fixed-scale-super-resolution"),
    ("SISR-x2-SwinIR", "fixed-scale-sr", "fixed-scale-super-resolution"),
    ("RCAN", "fixed-scale-sr", "fixed-scale-super-resolution"),
    ("Denoise-DnCNN", "denoising", "image-denoising"),
    ("Restormer", "restoration", "image-denoising"),
    ("NAFNet-width64", "restoration", "image-denoising"),
    ("Inpaint-LaMa", "inpainting", "image-inpainting"),
    ("Stable-Diffusion-v1.5", "text-to-image", "image-generation"),
    ("SDXL-Turbo", "text-to-image", "image-generation"),
    ("LIIF (RDN)", "liif-rdn", "arbitrary-scale-super-resolution"),  # brackets are punctuation
    ("Local Implicit Image Function (EDSR-baseline encoder)", "liif-edsr", "arbitrary-scale-super-resolution"),
    ("Local Implicit Image Function (LIIF)", "liif", "arbitrary-scale-super-resolution"),
    ("SRFlow", "fixed-scale-sr", "fixed-scale-super-resolution"),  # a capital SR in an unknown name
    ("BSRGAN", "fixed-scale-sr", "fixed-scale-super-resolution"),
])
def test_match_model(catalog, name, family, task):
    match = catalog.match_model(name)
    assert match is not None and (match.id, match.task) == (family, task)


@pytest.mark.parametrize("name", ["Foo-Bar", "SISR", "SR", "my LIIF-EDSR copy", "Transformer", ""])
def test_unknown_names_match_nothing(catalog, name):
    assert catalog.match_model(name) is None


def test_runnable_families_name_real_weights(catalog):
    from cnaps.sr.weights import KNOWN

    runnable = {m.id: m.weights for m in catalog.models if m.runnable}
    assert runnable["liif-edsr"] == "liif-edsr-baseline" and runnable["liif-rdn"] == "liif-rdn"
    assert all(w in KNOWN for w in runnable.values())
    assert all(m.weights is None for m in catalog.models if not m.runnable)


def test_liif_paper_facts_have_sources(catalog):
    liif = catalog.paper("2012.09161")
    assert liif is not None and liif.short_name == "LIIF"
    assert liif.github == "https://github.com/yinboc/liif" and liif.url == "https://arxiv.org/abs/2012.09161"
    ids = [f.id for f in liif.facts]
    assert len(ids) == len(set(ids))
    assert {"continuous-query", "training-data", "out-of-distribution-scales", "clean-degradation-only"} <= set(ids)
    assert all("LIIF_SPEC.md §" in f.source or "LIIF_SPEC.md (" in f.source for f in liif.facts)
    training = next(f for f in liif.facts if f.id == "training-data")
    assert "DIV2K" in training.text and "x1 and x4" in training.text


def test_github_repos(catalog):
    assert catalog.github_repos() == ["yinboc/liif"]
    assert github_repo("https://github.com/CSZN/DnCNN.git") == "cszn/dncnn"
    assert github_repo("https://gitlab.com/a/b") is None


def copy_catalog(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, target, ignore=shutil.ignore_patterns("cache"))
    return target


def test_invalid_catalog_is_a_config_error(tmp_path):
    directory = copy_catalog(tmp_path)
    models = directory / "models.toml"
    models.write_text(models.read_text().replace('task = "image-denoising"', 'task = "image-denoise"'))
    with pytest.raises(ConfigError, match="unknown task 'image-denoise'"):
        load_catalog(directory)


def test_extra_field_is_rejected(tmp_path):
    directory = copy_catalog(tmp_path)
    tasks = directory / "tasks.toml"
    tasks.write_text(tasks.read_text().replace('id = "unknown"', 'id = "unknown"\ncolour = "red"', 1))
    with pytest.raises(ConfigError, match="colour"):
        load_catalog(directory)


def test_only_the_arbitrary_scale_task_takes_any_factor(catalog, tmp_path):
    assert [t.id for t in catalog.tasks if t.any_factor] == ["arbitrary-scale-super-resolution"]
    directory = copy_catalog(tmp_path)
    tasks = directory / "tasks.toml"
    tasks.write_text(tasks.read_text().replace('id = "unknown"', 'id = "unknown"\nany_factor = true', 1))
    with pytest.raises(ConfigError, match="'unknown': any_factor needs enlarges"):
        load_catalog(directory)


def test_missing_and_broken_files(tmp_path):
    directory = copy_catalog(tmp_path)
    (directory / "papers.toml").write_text("[[paper]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_catalog(directory)
    (directory / "papers.toml").unlink()
    with pytest.raises(ConfigError, match="papers.toml is missing"):
        load_catalog(directory)


def test_corrupt_cache_is_reported(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "arxiv.json").write_text("{not json")
    with pytest.raises(ConfigError, match="run `cnaps catalog refresh`"):
        load_catalog(cache=cache)


def test_works_without_cache(tmp_path):
    catalog = load_catalog(cache=tmp_path / "absent")
    assert catalog.paper_meta == {} and catalog.repo_meta == {}


def test_patterns_are_valid_regexes(catalog):
    for model in catalog.models:
        for pattern in model.patterns:
            re.compile(pattern)


def test_cli_list(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["catalog", "list"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "arbitrary-scale-super-resolution" in out and "liif-rdn" in out
    assert "runnable, weights liif-edsr-baseline" in out
    assert "arXiv 2012.09161 LIIF" in out


def test_areas_cover_every_task_and_name_no_model(catalog):
    served = {t for area in catalog.areas for t in area.tasks}
    assert {t.id for t in catalog.tasks} - served == {"unknown"}  # every real task has a relevant area
    names = {area.name for area in catalog.areas}
    assert not any(re.search(r"LIIF|EDSR|RDN|GAN\b", name) for name in names)  # names appear in reasons
    liif = {area.id for area in catalog.areas if "liif-edsr" in area.ingredient_of}
    assert "implicit-neural-representations" in liif


@pytest.mark.parametrize("old, new, message", [
    ('tasks = ["image-inpainting"]', 'tasks = ["image-inpaint"]', "area 'inpainting': unknown task 'image-inpaint'"),
    ('ingredient_of = ["liif-edsr", "liif-rdn", "liif"]\nneighbour_of = ["arb',
     'ingredient_of = ["liif-edsr", "liif-rdnn", "liif"]\nneighbour_of = ["arb', "unknown model family 'liif-rdnn'"),
])
def test_invalid_area_is_a_config_error(tmp_path, old, new, message):
    directory = copy_catalog(tmp_path)
    areas = directory / "areas.toml"
    assert old in areas.read_text()
    areas.write_text(areas.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_catalog(directory)


def test_catalog_without_areas_loads(tmp_path):
    directory = copy_catalog(tmp_path)
    (directory / "areas.toml").unlink()
    assert load_catalog(directory).areas == []


@pytest.mark.parametrize("name, family", [
    ("LIIF-RDN (Local Implicit Image Function)", "liif-rdn"),  # the name, then spelled out
    ("Local Implicit Image Function (LIIF)", "liif"),
    ("LIIF (RDN)", "liif-rdn"),  # brackets as punctuation
    ("Restormer (LIIF)", "restoration"),  # the name outside the brackets wins
])
def test_a_model_name_with_a_bracketed_part(name, family):
    assert load_catalog().match_model(name).id == family
