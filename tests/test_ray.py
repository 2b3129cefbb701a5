"""A real local Ray (no mocks): prompts and images run as Ray tasks give the same answers and
images as one process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnaps.answer import demo_cache
from cnaps.collection import CollectionOptions, answer_collection
from cnaps.answer.records import AnswerOptions

ray = pytest.importorskip("ray", reason="Ray is the optional extra cnaps[ray]")

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures" / "prompts"
MALFORMED = TESTS / "fixtures" / "malformed"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.name != "answer.json"}


def _record(path: Path) -> dict:
    data = json.loads(path.read_text())
    if data["demo"]:
        data["demo"].pop("seconds")
    return data


@pytest.mark.slow
def test_ray_answers_equal_one_process(tmp_path, local_ray, released_model):
    from skimage import data

    photo = tmp_path / "photo.png"
    Image.fromarray(data.coffee()[100:164, 200:264]).save(photo)
    prompts = [FIXTURES / "sr_upscale_x2.txt", FIXTURES / "inpaint_lama.txt",
               MALFORMED / "no_question.txt"]
    # the same torch thread count on both sides (Ray tasks run one thread each)
    options = CollectionOptions(answer=AnswerOptions(image=str(photo), scale=2.0), threads=1,
                                cache_dir=None)
    try:
        local = answer_collection(prompts, tmp_path / "local", options, quiet=True)
        remote = answer_collection(prompts, tmp_path / "ray", options, ray="local", quiet=True)
    finally:
        demo_cache.configure(None)
    assert [r.status for r in remote] == ["answered", "answered", "failed"]
    strip = {"seconds", "demo_seconds"}
    assert ([r.model_dump(exclude=strip) for r in remote]
            == [r.model_dump(exclude=strip) for r in local])
    for stem in ["sr_upscale_x2", "inpaint_lama"]:
        assert _files(tmp_path / "ray" / stem) == _files(tmp_path / "local" / stem)
        assert (_record(tmp_path / "ray" / stem / "answer.json")
                == _record(tmp_path / "local" / stem / "answer.json"))
    assert "images/comparison.png" in _files(tmp_path / "ray" / "sr_upscale_x2")
    assert ((tmp_path / "ray" / "summary.jsonl").read_text().count("\n") == 3)


@pytest.mark.slow
def test_ray_folder_upscale_equals_one_process(tmp_path, local_ray, released_model):
    from skimage import data

    from cnaps.sr.weights import DEFAULT_WEIGHTS
    from cnaps.upscale_folder import FolderOptions, upscale_folder

    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(data.astronaut()[100:140, 150:196]).save(root / "a.png")
    Image.fromarray(data.chelsea()[60:96, 100:140]).save(root / "sub" / "cat.jpg")
    options = FolderOptions(scale=3.0, weights=DEFAULT_WEIGHTS, max_output_pixels=10**8,
                            max_input_pixels=10**8, threads=1)
    local, _ = upscale_folder(root, tmp_path / "local", options, quiet=True)
    remote, _ = upscale_folder(root, tmp_path / "ray", options, ray="local", quiet=True)
    assert [r.status for r in remote] == ["upscaled", "upscaled"]
    for rel in ["a.png", "sub/cat.png"]:
        assert np.array_equal(np.asarray(Image.open(tmp_path / "ray" / rel)),
                              np.asarray(Image.open(tmp_path / "local" / rel)))
