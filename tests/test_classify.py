"""Task classification and request extraction: seeds, fixtures, paraphrases, scale table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnaps.answer.catalog import load_catalog
from stages import classify_prompt
from cnaps.answer.stage2_request import extract_request
from cnaps.answer.stage1_prompt import load_prompt, parse_prompt

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = Path(__file__).resolve().parents[1] / "examples" / "prompts"  # copies of the real seeds
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
SR = "arbitrary-scale-super-resolution"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def question_only(question: str, model: str = "Some-Unknown-Model"):
    return parse_prompt(f'A user has asked the following question:\n"{question}"\n\n'
                        f"### Recommended AI Models:\nModel: {model}\n")


@pytest.mark.parametrize("prefix, degradations", [("000", ["noise"]), ("004", [])])
def test_seeds(catalog, prefix, degradations):
    paths = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not paths:
        pytest.skip(f"seed prompts not found in {SEEDS}")
    prompt = load_prompt(paths[0])
    result = classify_prompt(prompt, catalog)
    assert result.task_id == SR
    assert result.confidence >= 0.8
    assert result.evidence[0].startswith(f'model "{prompt.models[0].name}" is catalog family LIIF-')
    request = extract_request(prompt.question)
    assert request.scales == [8.0]
    assert request.degradations == degradations


def test_fixtures_match_expected_json(catalog):
    files = sorted(p.name for p in (FIXTURES / "prompts").glob("*.txt"))
    assert files == sorted(EXPECTED), "expected.json must list every fixture prompt"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(catalog, name):
    prompt = load_prompt(FIXTURES / "prompts" / name)
    expected = EXPECTED[name]
    result = classify_prompt(prompt, catalog)
    assert result.task_id == expected["task"], result.evidence
    assert result.task_name == catalog.task(expected["task"]).name
    assert 0.0 <= result.confidence <= 1.0 and result.evidence
    request = extract_request(prompt.question)
    assert request.scales == expected["scales"]
    assert request.degradations == expected["degradations"]


@pytest.mark.parametrize("question", [
    "I enlarged a small photo 8x and it still looks natural. How?",
    "How can I zoom in without losing detail?",
    "Make a tiny picture bigger and sharper.",
    "Can I blow up a thumbnail to poster size?",
])
def test_super_resolution_paraphrases_without_the_words(catalog, question):
    result = classify_prompt(question_only(question), catalog)
    assert result.task_id == SR
    assert any("question" in line for line in result.evidence)


@pytest.mark.parametrize("task, question", [
    ("image-classification", "I have 5,000 shelter photos to sort by breed; some are blurry. Can a network label them?"),
    ("image-classification", "Could a model recognise which mushrooms in my pictures are poisonous?"),
    ("image-deblurring", "The kids ran past and the photo is all streaky from movement. Can it be made crisp?"),
    ("image-deblurring", "The plate in my dashcam frame is smeared by motion. Can it be recovered?"),
    ("image-denoising", "My old film scans have heavy grain; I'd like them smoother but the same size."),
    ("image-inpainting", "A coffee stain covers part of my map scan. Can AI repaint the damaged area?"),
    ("image-generation", "I want an illustration of a dragon reading a book, made by AI from my description."),
    ("image-quality-assessment", "How can I score which of two upscaled versions looks natural without the original?"),
    ("arbitrary-scale-super-resolution", "I need my scanned stamp 2.7 times larger for a catalogue."),
])
def test_question_decides_when_the_model_is_unknown(catalog, task, question):
    assert classify_prompt(question_only(question), catalog).task_id == task


@pytest.mark.parametrize("model, task", [
    ("DN-FFDNet", "image-denoising"), ("DB-NAFNet", "image-deblurring"), ("INP-LaMa", "image-inpainting"),
])
def test_task_prefixed_model_names(catalog, model, task):
    assert classify_prompt(question_only("What does this model do?", model), catalog).task_id == task


def test_a_degradation_of_the_input_points_to_the_task_that_removes_it(catalog):
    result = classify_prompt(question_only("My scans have heavy grain."), catalog)
    assert result.task_id == "image-denoising"
    assert any("input has noise" in line for line in result.evidence)
    # a negated degradation is no evidence
    clean = classify_prompt(question_only("My scans have no grain."), catalog)
    assert not any("input has noise" in line for line in clean.evidence)


def test_every_catalog_example_classifies_as_its_task(catalog):
    for task in catalog.tasks:
        for example in task.examples:
            assert classify_prompt(question_only(example), catalog).task_id == task.id, example


def test_model_family_outweighs_question(catalog):
    # The question talks about noise, but the recommended model is an SR model.
    result = classify_prompt(question_only("Why is my noisy photo still grainy?", "SISR-Any-LIIF-RDN"), catalog)
    assert result.task_id == SR
    assert result.confidence < 0.8  # the question disagrees, so confidence drops
    assert any(line.startswith("runner-up: image-denoising") for line in result.evidence)


def test_fixed_scale_model(catalog):
    result = classify_prompt(question_only("What does this model do?", "SISR-x4-EDSR"), catalog)
    assert result.task_id == "fixed-scale-super-resolution"


def test_nothing_known_is_unknown(catalog):
    result = classify_prompt(question_only("What is the weather tomorrow?"), catalog)
    assert result.task_id == "unknown"
    assert "no task reached the minimum score" in result.evidence[0]



@pytest.mark.parametrize("question, scales", [
    ("I enlarged it 8x", [8.0]),
    ("an 8× enlargement", [8.0]),
    ("upscale x4 please", [4.0]),
    ("at ×3.5 and then x2.", [3.5, 2.0]),
    ("blown up by a factor of 12", [12.0]),
    ("a scale factor of eight", [8.0]),
    ("1.5x bigger", [1.5]),
    ("double the size", [2.0]),
    ("make it twice as big", [2.0]),
    ("triple, then quadruple it", [3.0, 4.0]),
    ("eight times larger", [8.0]),
    ("enlarge it by 3 for print", [3.0]),
    ("2x 3x and 2x again", [2.0, 3.0]),
    ("4x (that is, x4)", [4.0]),
    # sizes and other numbers are not scales
    ("a 200x200 thumbnail", []),
    ("my 48x48 icons", []),
    ("a 1920×1080 wallpaper", []),
    ("from 640 x 480 to 1280 x 960", [2.0]),  # two sizes in proportion: a factor of 2
    ("an 8x8 grid of tiles", []),
    ("on a scale of 1 to 10", []),
    ("resize by 50%", []),
    ("I need to double-check the output", []),
    ("resize 48x48 icons 4x", [4.0]),
    ("no numbers at all", []),
])
def test_scale_extraction(question, scales):
    assert extract_request(question).scales == scales


@pytest.mark.parametrize("question, degradations", [
    ("a noisy photo", ["noise"]),
    ("full of grain", ["noise"]),
    ("grainy film scan", ["noise"]),
    ("JPEG artifacts everywhere", ["jpeg"]),
    ("heavily compressed upload", ["jpeg"]),
    ("blurry and out of focus", ["blur"]),
    ("a blurred, noisy, compressed image", ["noise", "jpeg", "blur"]),
    ("a sharp and clean image", []),
])
def test_degradation_extraction(question, degradations):
    assert extract_request(question).degradations == degradations


def two_models(question: str, *models: str):
    listed = "".join(f"Model: {m}\n" for m in models)
    return parse_prompt(f'A user has asked the following question:\n"{question}"\n\n'
                        f"### Recommended AI Models:\n{listed}")


@pytest.mark.parametrize("question, models, task", [
    ("Remove the bin from my garden photo, and keep the size as it is: I don't need it any bigger.",
     ("INP-LaMa", "SISR-Any-LIIF-RDN"), "image-inpainting"),
    ("The resolution is fine; I only want the grain gone from these concert shots.",
     ("DN-Restormer", "SISR-Any-LIIF-EDSR"), "image-denoising"),
    ("Make this photo of the pier four times larger.", ("INP-LaMa", "SISR-Any-LIIF-RDN"), SR),
])
def test_a_question_that_wants_no_enlargement_is_not_super_resolution(catalog, question, models, task):
    result = classify_prompt(two_models(question, *models), catalog)
    assert result.task_id == task, result.evidence


@pytest.mark.parametrize("model", ["SRFlow", "BSRGAN"])
def test_an_unknown_model_named_for_super_resolution_is_fixed_scale(catalog, model):
    result = classify_prompt(question_only("Which face is the true one at 4x?", model), catalog)
    assert result.task_id == "fixed-scale-super-resolution"


@pytest.mark.parametrize("question, task", [
    ("The camera locked onto the wall behind her and her face is out of focus. Which fits?", "image-deblurring"),
    ("My night shots are full of sensor grain. Which fits?", "image-denoising"),
    ("What does this model do?", "image-denoising"),  # nothing in the question: the family's first task
])
def test_a_family_trained_for_several_tasks_lets_the_question_decide(catalog, question, task):
    assert classify_prompt(question_only(question, "NAFNet"), catalog).task_id == task


def two_models(question: str, first: str, second: str):
    return parse_prompt(f'A user has asked the following question:\n"{question}"\n\n'
                        f"### Recommended AI Models:\nModel: {first}\n\nModel: {second}\n")


@pytest.mark.parametrize("first, second, task", [
    ("INP-LaMa", "SISR-Any-LIIF-RDN", "image-inpainting"),
    ("SISR-Any-LIIF-RDN", "INP-LaMa", SR),
])
def test_two_known_models_that_the_question_does_not_separate_go_to_the_first(catalog, first, second, task):
    # A question in a language without task phrases here gives no evidence either way.
    prompt = two_models("電線だけ消したいです。", first, second)
    assert classify_prompt(prompt, catalog).task_id == task


def test_a_question_that_plainly_means_a_task_outside_the_catalog_is_not_the_listed_models(catalog):
    question = ("For a fake portrait mode I need a depth map first. Can the model tell from one photo "
                "which parts are near the camera and which are far?")
    prompt = two_models(question, "DEPTH-DPT-Large", "SISR-Any-LIIF-EDSR")
    result = classify_prompt(prompt, catalog)
    assert result.task_id == "unknown" and "depth estimation" in result.evidence[0]
    # the same model with a question that asks for an enlargement stays super-resolution
    asked = two_models("Can it enlarge my depth-of-field photo 4x?", "DEPTH-DPT-Large", "SISR-Any-LIIF-EDSR")
    assert classify_prompt(asked, catalog).task_id == SR


def test_the_words_of_a_refused_enlargement_are_no_evidence_for_it(catalog):
    prompt = question_only("The background is full of speckles. Please don't make it bigger, "
                           "I only want the speckle gone.", model="SISR-Any-LIIF-RDN")
    assert classify_prompt(prompt, catalog).task_id == "image-denoising"


def test_every_phrase_of_a_refused_enlargement_is_no_evidence(catalog):
    prompt = question_only("Can you turn my harbour photo into something like a Monet painting? Keep the "
                           "same resolution, I don't want it upscaled.", model="SISR-Any-LIIF-EDSR")
    result = classify_prompt(prompt, catalog)
    assert (result.task_id, result.area) == ("unknown", "style-transfer")
    assert "refuses" in result.evidence[0]


def test_a_past_enlargement_alone_does_not_outweigh_another_task(catalog):
    prompt = two_models("Last week I upscaled 300 listing photos by 2x with three apps. Now I need to rank "
                        "the versions and keep the best-looking one. Can a model score them without a "
                        "reference image?", "IQA-MUSIQ", "SISR-Any-LIIF-EDSR")
    assert classify_prompt(prompt, catalog).task_id == "image-quality-assessment"


def test_an_unknown_model_with_a_question_that_means_a_task_outside_the_catalog(catalog):
    prompt = question_only("From one drone photo, which trees are closer to the camera? "
                           "Can the model tell how far away each tree is in metres?", model="MiDaS")
    result = classify_prompt(prompt, catalog)
    assert (result.task_id, result.area) == ("unknown", "depth-estimation")
    assert classify_prompt(question_only("What is this?", model="MiDaS"), catalog).area is None


def test_a_factor_asked_outweighs_a_phrase_of_the_degradation_task(catalog):
    prompt = two_models("The printing was out of focus, so it looks soft. I'd like to quadruple its size.",
                        "SISR-Any-LIIF-RDN", "DB-MPRNet")
    assert classify_prompt(prompt, catalog).task_id == SR
    # a fractional factor does not point to a fixed-scale model listed first
    mixed = two_models("I need 1.5x and 3x.", "SISR-x4-RealESRGAN", "SISR-Any-LIIF-EDSR")
    assert classify_prompt(mixed, catalog).task_id == SR


def test_two_models_of_one_family_count_once(catalog):
    prompt = parse_prompt(
        'A user has asked the following question:\n"I need every zoom level from 1.2x up to 3x of a '
        'painting scan. Should I run the x2 and x4 EDSR models and resize, or use one model?"\n\n'
        "### Recommended AI Models:\nModel: SISR-x2-EDSR\nModel: LIIF\nModel: SISR-x4-EDSR\n")
    result = classify_prompt(prompt, catalog)
    assert result.task_id == SR, result.evidence
