"""The answer's context and templates: variables match the context models, numbers are
formatted deterministically, prompt text stays data, and each kind of prompt reads right."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2 import meta

from cnaps.answer import stage7_write as answer
from cnaps.answer.catalog import load_catalog
from cnaps.answer.stage4_classify import classify
from cnaps.answer.stage2_request import extract_request
from cnaps.answer.records import DemoImages, DemoResult, Pair, Size
from cnaps.answer.stage1_prompt import load_prompt
from cnaps.answer.evidence import EvidenceContext
from cnaps.answer.stage5_related import judge_related
from cnaps.answer.stage3_topics import detect_topics

FIXTURES = Path(__file__).parent / "fixtures" / "prompts"
SEED = Path(__file__).parent.parent / "examples" / "prompts" / "000_d8520ca7f81b1e4f.txt"
TEMPLATES = {"answer.md.j2": answer.AnswerContext, "answer.html.j2": answer.HtmlContext,
             "evidence.md.j2": EvidenceContext}


@pytest.mark.parametrize("name, model", sorted(TEMPLATES.items()))
def test_template_variables_are_the_context_fields(name, model):
    env = jinja2.Environment()
    source = (answer.PROMPTS_DIR / name).read_text()
    used = meta.find_undeclared_variables(env.parse(source))
    assert used == set(model.model_fields)


def test_every_template_file_has_a_context_model():
    assert {p.name for p in answer.PROMPTS_DIR.glob("*.j2")} == set(TEMPLATES)


def _context(path, demo=None, no_demo_reason="No demo was run (--no-demo was given)."):
    prompt = load_prompt(path)
    catalog = load_catalog()
    families = [catalog.match_model(m.name) for m in prompt.models]
    request = extract_request(prompt.question)
    classification = classify(prompt, catalog, request, families)
    topics = detect_topics(prompt.question, request.scales, request.degradations)
    return answer.build_context(prompt, catalog, families, classification, request, topics.ids,
                                judge_related(prompt, classification, catalog, request, families), demo,
                                None if demo else no_demo_reason)


def _demo_result(**changes) -> DemoResult:
    values = dict(
        model="LIIF with the EDSR-baseline encoder", weights="liif-edsr-baseline",
        weights_sha256="0" * 64, substitute_for="LIIF-RDN", photo="a photo",
        input_size=Size(width=48, height=48), output_size=Size(width=384, height=384),
        scale=8.0, scale_note="x8 as asked", degradations=["noise"], denoise="none",
        seed=0, psnr=Pair(model=23.164087, bicubic=22.650631),
        ssim=Pair(model=0.6609864, bicubic=0.6629065), seconds=12.3, images=DemoImages())
    values.update(changes)
    return DemoResult(**values)


def test_three_numbered_sections_in_order():
    md = answer.render_markdown(_context(FIXTURES / "sr_upscale_x2.txt"))
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert [h[:6] for h in headings] == ["## 1. ", "## 2. ", "## 3. "]


def test_demo_numbers_are_quoted_with_fixed_decimals_and_substitution_is_said():
    md = answer.render_markdown(_context(SEED, demo=_demo_result()))
    assert "| Bicubic interpolation | 22.65 | 0.663 |" in md
    assert "| LIIF with the EDSR-baseline encoder | 23.16 (+0.51) | 0.661 (-0.002) |" in md
    assert ("The recommended LIIF-RDN was not run: its weights are not installed here. "
            "Shown instead: **LIIF with the EDSR-baseline encoder**, in place of LIIF-RDN") in md
    assert "12.3" not in md  # timings only in answer.json
    assert "x8 is beyond the training range" in md
    assert "![Input, bicubic, model output and ground truth" in md


def test_seed_question_reads_as_noisy_x8_super_resolution():
    md = answer.render_markdown(_context(SEED))
    section1 = md.split("## 2.")[0]
    assert "**Arbitrary-scale single-image super-resolution.**" in section1
    assert "What the user did: enlarged a noisy low-resolution image by x8." in section1
    assert "No demo was run (--no-demo was given)." in md
    assert "x8 is beyond the training range" in md


def test_the_question_asked_is_answered_first():
    md = answer.render_markdown(_context(SEED, demo=_demo_result()))
    brief = md.split("## 1.")[0]
    # "How does AI manage to generate such clean results?": the clean look, then the noise
    assert brief.index("**Why it looks natural.**") < brief.index("**Noise.**")
    assert "23.16 dB PSNR against 22.65 dB for bicubic interpolation (+0.51 dB)" in brief
    # the noise fact is stated once, in the brief, not again under Limits
    assert md.count("trained on clean bicubic downsampling only") == 1


def test_classifier_internals_stay_out_of_the_answer_body():
    ctx = _context(SEED)
    md = answer.render_markdown(ctx)
    assert "+10)" not in md and "runner-up" not in md and "confidence" not in md


def test_each_fact_is_stated_once():
    md = answer.render_markdown(_context(FIXTURES / "sr_factor_12.txt", demo=_demo_result(
        scale=12.0, degradations=[], input_size=Size(width=32, height=32))))
    for fact in load_catalog().paper("2012.09161").facts:
        assert md.count(fact.text[:60]) <= 1, fact.id


def test_prompt_text_is_data_never_template_or_html():
    ctx = _context(FIXTURES / "injection_summaries.txt")
    md = answer.render_markdown(ctx)
    assert "49" not in md  # the summary's {{ 7*7 }} is not evaluated (nor repeated: see test_relevance.py)
    assert "{{ config }}" in md
    html = answer.markdown_to_html(md)
    assert "<script" not in html and "<b>" not in html
    assert "evil.example.com" not in md


def test_html_page_escapes_its_title_and_inlines_images():
    body = answer.markdown_to_html("![c](images/comparison.png) ![x](other.png)",
                                   {"images/comparison.png": b"\x89PNG"})
    assert 'src="data:image/png;base64,iVBORw==' in body and 'src="other.png"' in body
    page = answer.render_html(answer.HtmlContext(title="<b>t</b>", body=body))
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page and page.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("fixture", ["denoise_dncnn.txt", "t2i_stable_diffusion.txt",
                                     "fixed_x4_edsr.txt", "inpaint_lama.txt"])
def test_tasks_without_a_runnable_model_get_no_demo_and_no_liif(fixture):
    md = answer.render_markdown(_context(FIXTURES / fixture, no_demo_reason="No demo was run: x."))
    prompt = load_prompt(FIXTURES / fixture)
    assert "No demo was run: x." in md
    if "https://arxiv.org/abs/2012.09161" not in prompt.allowed_urls:
        assert "2012.09161" not in md and "LIIF" not in md
    names = [m.name for m in prompt.models]
    for other in ("EDSR", "RCAN", "SwinIR", "ESRGAN", "Meta-SR", "DnCNN", "LaMa"):
        if not any(other.lower() in n.lower() for n in names) and \
                other.lower() not in prompt.question.lower():
            assert other not in md.replace(prompt.question, ""), other


def test_nothing_fits_gives_the_fixed_phrase():
    md = answer.render_markdown(_context(FIXTURES / "unknown_task.txt"))
    assert md.count(answer.CANNOT_ANSWER) >= 2


def test_rendering_is_deterministic():
    ctx = _context(SEED, demo=_demo_result())
    assert answer.render_markdown(ctx) == answer.render_markdown(ctx.model_copy(deep=True))


def test_tidy_markdown_spaces_blocks():
    text = "# T\npara\n- a\n- b\n\n\n\n| h |\n|---|\n| c |\ntext  \n## S\nx"
    assert answer.tidy_markdown(text) == (
        "# T\n\npara\n\n- a\n- b\n\n| h |\n|---|\n| c |\ntext\n\n## S\n\nx\n")


def test_formatting_helpers():
    assert answer.fmt(23.164, 2) == "23.16" and answer.fmt_signed(-0.0019, 3) == "-0.002"
    assert answer.join_words(["noisy", "blurred", "JPEG-compressed"]) == \
        "noisy, blurred and JPEG-compressed"
    assert answer.safe_url("https://e.com/a b(c)") == "https://e.com/a%20b%28c%29"


def test_noise_answer_compares_the_run_with_and_without_noise_handling():
    from cnaps.answer.records import DemoRaw

    raw = DemoRaw(model="LIIF with the EDSR-baseline encoder", weights="liif-edsr-baseline",
                  psnr=Pair(model=23.16, bicubic=22.65), ssim=Pair(model=0.661, bicubic=0.663))
    result = _demo_result(raw=raw, psnr=Pair(model=23.95, bicubic=22.65),
                          ssim=Pair(model=0.724, bicubic=0.663))
    brief = answer.render_markdown(_context(SEED, demo=result)).split("## 1.")[0]
    assert "(noisy input, after noise handling): 23.95 dB PSNR against 22.65 dB" in brief
    assert ("without noise handling, LIIF with the EDSR-baseline encoder gains only +0.51 dB "
            "PSNR and -0.002 SSIM over bicubic, against +1.30 dB and +0.061 with it") in brief


@pytest.mark.parametrize("fixture, says", [
    ("denoise_dncnn.txt", "hidden under the noise"),   # the denoising area, not restoration-quality
    ("inpaint_lama.txt", "missing region"),
    ("fixed_x4_edsr.txt", "finer than the input's pixels"),
])
def test_a_model_cnaps_cannot_run_is_told_apart_from_what_its_task_cannot_recover(fixture, says):
    md = answer.render_markdown(_context(FIXTURES / fixture, no_demo_reason="No demo was run: x."))
    # Said once: in the opening paragraph when nothing else answers the question, else in section 2.
    lines = [line for line in md.splitlines() if says in line]
    assert len(lines) == 1 and "](" not in lines[0]
    assert lines[0].startswith("**What no model of this kind") and "not a claim of the sources" in lines[0] \
        or lines[0].startswith("**In brief.**") and "holds for any trained model of the task" in lines[0]


def test_what_a_task_cannot_recover_comes_from_the_users_own_area():
    catalog = load_catalog()
    assert "colours" in catalog.cannot_recover("unknown", "colorization")
    assert catalog.cannot_recover("image-denoising") == catalog.area("denoising").cannot_recover
    assert catalog.cannot_recover("image-generation") == ""  # the catalog says nothing for it
    assert catalog.cannot_recover("unknown") == ""


def test_a_question_about_speed_of_a_model_cnaps_cannot_run_says_no_time_was_measured(tmp_path):
    text = (FIXTURES / "denoise_dncnn.txt").read_text()
    question = text.split('"')[1]
    prompt = tmp_path / "speed.txt"
    prompt.write_text(text.replace(question, "My scans are grainy. How long does the model take per scan?"))
    md = answer.render_markdown(_context(prompt, no_demo_reason="No demo was run: x."))
    line = next(line for line in md.splitlines() if "not measured here" in line)
    assert line.startswith("**Speed and image size, not measured here**")
    assert "not a claim of the sources" in line and "measured no time" in line
    assert " s " not in line and "](" not in line  # no figure, no citation: nothing was measured


def test_an_answer_with_a_demo_has_no_unmeasured_line(tmp_path):
    text = SEED.read_text()
    prompt = tmp_path / "speed.txt"
    prompt.write_text(text.replace(text.split('"')[1], "I enlarged a photo 4x. How long does it take?"))
    context = _context(prompt, demo=_demo_result())
    assert [t.id for t in context.topics] == ["speed"] and context.topics[0].unmeasured
    assert "not measured here" not in answer.render_markdown(context)
