"""What each stage of the answer pipeline decided or measured, as typed records.

Torch-free on purpose: rendering an answer, `cnaps check` and the web page's answer view read
these without loading the model runner. Stage by stage (the numbers of `cnaps/answer/stageN_*`):

2 request   `Request` (scales, input degradations, the words each came from, what was ignored)
3 topics    `Topics`
4 classify  `Classification`
5 related   `RelevanceJudgement`
6 demo      `DemoPlan` before running, `DemoResult` after (and `DemoRun` with the pictures)
8 guard     `GuardReport`
answer.json `AnswerRecord`, with the `AnswerOptions` it was made with; `Report` = the files in memory.
"""

from __future__ import annotations

from typing import Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """The base of every record: unknown fields are refused, not dropped."""

    model_config = ConfigDict(extra="forbid")


def fmt_scale(scale: float) -> str:
    """How a scale factor is written everywhere: 4.0 -> '4', 2.5 -> '2.5' (deterministic)."""
    return f"{scale:g}"


# ---- stage 2: the request ----------------------------------------------------------------

Degradation = Literal["noise", "jpeg", "blur"]
DEGRADATION_ORDER: tuple[Degradation, ...] = ("noise", "jpeg", "blur")


class Evidence(Record):
    """One reading and the words of the question it came from (`question[start:end] == text`)."""
    kind: Literal["scale", "degradation", "keeps-size"]
    value: float | str  # the factor (scale), the degradation's name, or "no enlargement"
    text: str
    start: int
    end: int
    rule: str  # which grammar rule read it, in words



class Ignored(Record):
    """A number or degradation word that was deliberately *not* read as part of the request."""
    text: str
    start: int
    end: int
    why: str



class Request(Record):
    """What the question asks of the model: magnification factors and input degradations."""
    scales: list[float]  # asked factors > 1, in order of mention, unique
    degradations: list[Degradation]  # what the input has, in DEGRADATION_ORDER
    keeps_size: bool = False  # the user says the image should not get larger ("I don't need it bigger")
    # every factor read is of a past event ("last week I upscaled them 2x"): what the question is
    # about when it asks of that enlargement, background when it asks for another task
    dated: list[float] = []
    evidence: list[Evidence] = []
    ignored: list[Ignored] = []


# ---- stage 3: the question's topics ------------------------------------------------------

class Topics(Record):
    """The question's topics, first raised first, with the words that raised each."""
    ids: list[str] = Field(description="topic ids in the order the answer takes them")
    evidence: list[str] = Field(description="one line per topic: the words that raised it")


# ---- stage 4: the task -------------------------------------------------------------------

class Classification(Record):
    task_id: str
    task_name: str
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[str]
    area: str | None = Field(default=None, description="for an unknown task: the research area "
                             "outside the catalog's tasks that the question plainly means, if any")


# ---- stage 5: the related papers ---------------------------------------------------------

Verdict = Literal["relevant", "related", "tangential"]


class RelevanceJudgement(Record):
    title: str
    url: str
    relevance: Verdict
    score: float  # cosine similarity to the closest relevant-making area, 0 if none
    reason: str  # one plain sentence: what the paper does and how it bears on the question
    area: str | None = None  # id of the catalog area the paper was placed in


# ---- stage 6: the demo (its degradations' parameters define what the records' words mean) ----

NOISE_SIGMA = 10.0  # Gaussian noise, 8-bit units
JPEG_QUALITY = 30
BLUR_RADIUS = 1.0  # PIL GaussianBlur radius (sigma), LR pixels


class Size(Record):
    width: int
    height: int



class Pair(Record):
    """One metric for the model and for the bicubic baseline."""
    model: float
    bicubic: float



class DemoImages(Record):
    """Files written beside the answer, relative to the output folder."""
    lr: str = "images/lr.png"
    bicubic: str = "images/bicubic.png"
    model: str = "images/model.png"
    ground_truth: str = "images/ground_truth.png"
    comparison: str = "images/comparison.png"
    workflow: str = "images/workflow.json"  # cnaps.workflow: rerun with `cnaps run`



class DemoPlan(Record):
    """What the demo will run, decided before running it."""
    weights: str = Field(description="name of the installed weights that will run")
    model: str = Field(description="what ran, in words, e.g. 'LIIF with the EDSR-baseline encoder'")
    substitute_for: str | None = Field(
        None, description="the recommended model shown in place of, when its weights are missing")
    scale: float
    scale_note: str = Field(description="why this scale: asked, chosen among several, or assumed")
    degradations: list[str]
    denoise: str = Field(description="how noise in the input is handled, in words")
    image: str | None = Field(None, description="user photo path; None = the default photo")
    seed: int = 0



class DemoRaw(Record):
    """The same weights on the degraded input with no noise handling: what noise does."""
    model: str
    weights: str
    psnr: Pair
    ssim: Pair



class DemoResult(Record):
    """What the demo measured (answer.json's `demo`)."""
    model: str
    weights: str
    weights_sha256: str
    substitute_for: str | None
    photo: str
    input_size: Size
    output_size: Size
    scale: float
    scale_note: str
    degradations: list[str]
    denoise: str
    seed: int
    psnr: Pair = Field(description="dB, Y channel, border of ceil(scale) px shaved")
    ssim: Pair = Field(description="Y channel, border of ceil(scale) px shaved")
    raw: DemoRaw | None = Field(
        None, description="when noise handling changed the run: the plan's weights on the "
                          "noisy input as it is")
    seconds: float = Field(description="wall time of the whole demo (not in answer.md)")
    images: DemoImages = Field(default_factory=DemoImages)



class DemoRun(Record):
    """A result plus the pictures (8-bit RGB PIL images) that `report` writes."""
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    result: DemoResult
    pictures: dict[str, Image.Image]


# ---- stage 8: the citation guard ---------------------------------------------------------

class GuardReport(Record):
    """What the guard did to one rendered answer."""
    removed: list[str] = Field(default_factory=list,
                               description="URLs removed because the prompt did not give them")
    kept: list[str] = Field(default_factory=list,
                            description="distinct cited URLs (normalised), in order of appearance")


# ---- the answer ---------------------------------------------------------------------------

class AnswerOptions(Record):
    """How the answer was made (the command-line options); `cnaps check` replays them."""

    demo: bool = Field(True, description="run the demo when a recommended model is runnable")
    image: str | None = Field(None, description="photo for the demo; None = the default photo")
    scale: float | None = Field(None, description="demo scale; None = chosen from the question")
    seed: int = Field(0, description="seed of the demo's degradations")


class ModelRecord(Record):
    name: str
    family: str | None = Field(description="catalog family id, None when not recognised")
    paper: str | None
    github: str | None
    runnable: bool
    weights: str | None = Field(description="the family's weights name when runnable")


class RelatedRecord(BaseModel):
    """A relevance judgement as the judge gave it (fields it adds are kept)."""

    model_config = ConfigDict(extra="allow")
    title: str
    url: str
    relevance: str
    score: float
    reason: str


class GuardRecord(Record):
    removed: list[str] = Field(description="URLs removed from answer.md: not given by the prompt")


class AnswerRecord(Record):
    """answer.json: the machine-readable answer."""

    prompt: str = Field(description="prompt file name")
    question: str
    options: AnswerOptions
    classification: Classification = Field(
        description="the task, the classifier's confidence and the evidence it scored")
    request: Request = Field(description="scales and input degradations read from the "
                                         "question, with the words they came from")
    topics: Topics = Field(description="what the question asks about, answered first")
    models: list[ModelRecord]
    related: list[RelatedRecord]
    demo: DemoResult | None
    no_demo_reason: str | None
    citations: list[str] = Field(description="every URL in answer.md, in order, unique")
    guard: GuardRecord


class Report(Record):
    """Everything `write_report` writes, in memory."""

    markdown: str
    html: str
    record: AnswerRecord
    images: dict[str, bytes] = Field(description="relative path -> PNG bytes")

    def json_text(self) -> str:
        return self.record.model_dump_json(indent=2) + "\n"
