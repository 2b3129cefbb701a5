"""The input -> model -> output workflow, as data.

A `Workflow` is what a CNAPS.AI-style service runs for a person: an input image (uploaded, a file
named on the command line, or the built-in sample photo), a model with its parameters (weights,
precision, noise handling) and an output (a scale or an exact size, a file format). The same
record drives `cnaps run workflow.json`, `POST /v1/workflows` of `cnaps serve`, and the answer's
demo: `workflow_for_demo(plan)` writes down the demo (sample photo, crop, scale, degradations,
seed), and running it gives the demo's images and numbers again.

An input with `degrade` set is a *demo* input: the image is taken as ground truth, shrunk by the
output scale with bicubic, degraded (blur, noise, JPEG with a seed), and enlarged back, and PSNR /
SSIM against the ground truth are measured; this runs through `cnaps.answer.stage6_demo` (`plan_demo`,
`run_demo`), the code of the answer's demo, so both follow one protocol.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Annotated, Callable, Literal, Union

import numpy as np
import torch
from PIL import Image
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from cnaps.answer import stage6_demo as demo
from cnaps.answer.records import DemoPlan, DemoResult
from cnaps.errors import ConfigError, InputImageError
from cnaps.sr import imageio
from cnaps.sr.device import resolve_precision

DEFAULT_WEIGHTS = "liif-edsr-baseline"
SAMPLE_PHOTOS = ("astronaut",)  # scikit-image's astronaut (public domain, NASA)
Precision = Literal["exact", "fast", "auto"]
Denoise = Literal["none", "nlm", "auto"]
FORMATS = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}
DEFAULT_MAX_OUTPUT_PIXELS = 64_000_000


class _Record(BaseModel):
    # strict: "scale": "2" or "seed": 1.5 is a mistake to point at, not a value to coerce
    model_config = ConfigDict(extra="forbid", strict=True)


class Crop(_Record):
    """A rectangle of the input, in its pixels."""

    top: int = Field(ge=0)
    left: int = Field(ge=0)
    height: int = Field(gt=0)
    width: int = Field(gt=0)


class Degradations(_Record):
    """Make the input a demo: shrink it by the output scale, degrade, enlarge back, measure."""

    kinds: list[Literal["blur", "noise", "jpeg"]] = Field(
        default_factory=list, description="applied in the order blur, noise, JPEG")
    seed: int = Field(0, description="seed of the noise")


class SampleInput(_Record):
    kind: Literal["sample"] = "sample"
    name: Literal[SAMPLE_PHOTOS] = "astronaut"
    crop: Crop = Field(default_factory=lambda: Crop(
        top=demo.DEFAULT_CROP[0], left=demo.DEFAULT_CROP[1], height=demo.CROP_SIDE,
        width=demo.CROP_SIDE), description="default: the crop the answer's demo uses")
    degrade: Degradations | None = None


class FileInput(_Record):
    """A file on this machine: accepted from the command line only (`cnaps run`), never from
    a web client, which must not name server paths."""

    kind: Literal["file"] = "file"
    path: str
    degrade: Degradations | None = None


class UploadInput(_Record):
    """Image bytes carried in the workflow (base64), as a web client sends them."""

    kind: Literal["upload"] = "upload"
    data_base64: str = Field(repr=False)
    degrade: Degradations | None = None

    def data(self) -> bytes:
        try:
            return base64.b64decode(self.data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InputImageError("input.data_base64 is not valid base64") from None


Input = Annotated[Union[SampleInput, FileInput, UploadInput], Field(discriminator="kind")]


class ModelSpec(_Record):
    weights: str = Field(DEFAULT_WEIGHTS, description="installed weights name (cnaps weights list)")
    precision: Precision = Field("exact", description="exact, fast (bf16) or auto; engines "
                                 "without a precision setting run exact")
    denoise: Denoise = Field("none", description="none, nlm (pre-filter) or auto (estimate the "
                             "noise and route); demo inputs with noise use auto, as the demo does")


class OutputSpec(_Record):
    scale: float | None = Field(None, description="enlargement factor > 1")
    # strict=False for the container only: a JSON array becomes the tuple (FastAPI validates
    # parsed JSON, where strict would want a Python tuple); its numbers stay strict.
    size: tuple[StrictInt, StrictInt] | None = Field(
        None, strict=False, description="exact output [width, height]")
    format: Literal["png", "webp", "jpeg"] = "png"

    @field_validator("scale")
    @classmethod
    def _scale_sane(cls, value):
        if value is not None and not (math.isfinite(value) and 1 < value <= 32):
            raise ValueError(f"scale must be above 1 and at most 32, got {value}")
        return value

    @model_validator(mode="after")
    def _one_of(self):
        if (self.scale is None) == (self.size is None):
            raise ValueError("give exactly one of output.scale and output.size")
        return self


class Workflow(_Record):
    """input -> model -> output, everything needed to run it again."""

    version: Literal[1] = 1
    input: Input
    model: ModelSpec = Field(default_factory=ModelSpec)
    output: OutputSpec

    @model_validator(mode="after")
    def _demo_needs_scale(self):
        if self.input.degrade is not None:
            if self.output.scale is None:
                raise ValueError("a demo input (input.degrade) needs output.scale, not a size: "
                                 "the ground truth is shrunk by that scale")
            # The upper bound depends on the photo: demo.plan_demo checks it (a 16 px input).
        return self


class WorkflowResult(BaseModel):
    """The output image, and for a demo input the demo's measured result and pictures."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    image: Image.Image
    weights: str = Field(description="the weights that ran")
    precision: str = Field(description="the precision that ran")
    seconds: float
    demo: DemoResult | None = None
    pictures: dict[str, Image.Image] = Field(default_factory=dict)

    def encoded(self, fmt: str) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format=FORMATS[fmt])
        return buf.getvalue()


def _got(error: dict) -> str:
    """' (got "2", a string)': what was there, when a plain value of the wrong type."""
    value = error.get("input")
    if error.get("type") in ("int_type", "float_type", "int_from_float", "bool_type",
                             "string_type"):
        kind = {str: "a string", float: "a fraction", int: "a whole number",
                bool: "true/false"}.get(type(value), type(value).__name__)
        return f" (got {json.dumps(value)}, {kind}: write the number without quotes)" \
            if isinstance(value, str) else f" (got {json.dumps(value)}, {kind})"
    return ""


def parse_workflow(text: str | bytes) -> Workflow:
    """A Workflow from JSON text, with pydantic's messages turned into one ConfigError."""
    from pydantic import ValidationError

    try:
        return Workflow.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'workflow'}: {e['msg']}"
                             + _got(e) for e in exc.errors())
        raise ConfigError(f"not a valid workflow: {problems}") from None


def workflow_for_demo(plan: DemoPlan) -> Workflow:
    """The workflow that reruns an answer's demo: same photo and crop, scale, degradations,
    seed and weights. `cnaps run` on it gives the demo's images and PSNR/SSIM again."""
    degrade = Degradations(kinds=list(plan.degradations), seed=plan.seed)
    source = (SampleInput(degrade=degrade) if plan.image is None
              else FileInput(path=str(plan.image), degrade=degrade))
    return Workflow(input=source,
                    model=ModelSpec(weights=plan.weights, precision="exact",
                                    denoise="auto" if "noise" in plan.degradations else "none"),
                    output=OutputSpec(scale=plan.scale))


# ---- running ---------------------------------------------------------------------------------

def load_input(source, max_input_pixels: int = imageio.DEFAULT_MAX_INPUT_PIXELS,
               allow_files: bool = True) -> imageio.LoadedImage:
    """The input image, checked (content, not extension; declared size before decoding)."""
    if isinstance(source, SampleInput):
        from skimage import data

        c = source.crop
        photo = data.astronaut()
        if c.top + c.height > photo.shape[0] or c.left + c.width > photo.shape[1]:
            raise InputImageError(f"crop {c.width}x{c.height} at ({c.top}, {c.left}) leaves the "
                                  f"{photo.shape[1]}x{photo.shape[0]} sample photo")
        rgb = photo[c.top:c.top + c.height, c.left:c.left + c.width]
        tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float() / 255
        return imageio.LoadedImage(tensor, None, False, False)
    if isinstance(source, FileInput):
        if not allow_files:
            raise InputImageError("file inputs name a path on the server and are accepted from "
                                  "the command line only; upload the image instead")
        return imageio.read_image(source.path, max_pixels=max_input_pixels)
    with tempfile.TemporaryDirectory(prefix="cnaps-upload-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(source.data())
        return imageio.read_image(path, max_pixels=max_input_pixels)


def run_workflow(wf: Workflow, *, allow_files: bool = True,
                 max_input_pixels: int = imageio.DEFAULT_MAX_INPUT_PIXELS,
                 max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS,
                 on_progress: Callable[[float], None] | None = None) -> WorkflowResult:
    """Run one workflow. Raises CnapsError subclasses for inputs that cannot be used."""
    if wf.input.degrade is not None:
        return _run_demo_workflow(wf, allow_files)
    from cnaps.sr.inference import load_weights_once, output_size, upscale

    start = time.perf_counter()
    report = on_progress or (lambda fraction: None)
    image = load_input(wf.input, max_input_pixels, allow_files)
    height, width = image.size
    size = None if wf.output.size is None else (wf.output.size[1], wf.output.size[0])
    out_h, out_w = output_size(height, width, scale=wf.output.scale, size=size,
                               max_pixels=max_output_pixels)
    report(0.05)
    rgb, weights = image.rgb, wf.model.weights
    if wf.model.denoise != "none":
        from cnaps.sr.denoise import decide, prefilter

        keep = None if weights == DEFAULT_WEIGHTS else weights
        decision = decide(wf.model.denoise, rgb, weights=keep)
        rgb = prefilter(rgb, decision.sigma) if decision.prefilter else rgb
        weights = decision.weights_name
    model = load_weights_once(weights)
    report(0.1)
    # What runs here: `fast` and `auto` run exact on a CPU without bf16 units (cnaps.sr.device).
    ran = resolve_precision(wf.model.precision)
    precision = "exact" if ran.dtype == torch.float32 else "fast"
    out = upscale(model, rgb, (out_h, out_w), out_dtype=torch.uint8,
                  precision=wf.model.precision).cpu()  # (3, H, W)
    alpha = (imageio.resize_alpha(image.alpha, (out_h, out_w))
             if image.alpha is not None and wf.output.format != "jpeg" else None)
    pil = imageio.to_pil(out.permute(1, 2, 0).numpy(), alpha, image.grayscale)
    report(1.0)
    return WorkflowResult(image=pil, weights=weights, precision=precision,
                          seconds=round(time.perf_counter() - start, 3))


def _run_demo_workflow(wf: Workflow, allow_files: bool) -> WorkflowResult:
    """Through `demo.plan_demo`/`demo.run_demo`: the answer's demo protocol exactly."""
    source, degrade = wf.input, wf.input.degrade
    # The demo handles noise one way (--denoise auto) and only when noise was added.
    if "noise" in degrade.kinds and wf.model.denoise != "auto":
        raise ConfigError("a demo input with noise runs the demo's noise handling: set "
                          "model.denoise to \"auto\"")
    if "noise" not in degrade.kinds and wf.model.denoise == "nlm":
        raise ConfigError("a demo input without noise has no noise to handle: set "
                          "model.denoise to \"none\"")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cnaps-demo-") as tmp:
        image = None
        default_crop = SampleInput().crop
        if isinstance(source, SampleInput) and source.crop != default_crop:
            image = str(Path(tmp) / "sample.png")  # the crop as a file: the demo reads it whole
            loaded = load_input(source)
            Image.fromarray(_to_u8(loaded.rgb)).save(image)
        elif isinstance(source, FileInput):
            if not allow_files:
                load_input(source, allow_files=False)  # raises the explanation
            image = source.path
        elif isinstance(source, UploadInput):
            image = str(Path(tmp) / "upload.png")
            Image.fromarray(_to_u8(load_input(source).rgb)).save(image)
        plan = demo.plan_demo(wf.model.weights, wf.model.weights, [], list(degrade.kinds),
                              image=image, seed=degrade.seed, scale=wf.output.scale)
        if plan.weights != wf.model.weights:
            raise ConfigError(f"weights {wf.model.weights} are not installed "
                              "(cnaps weights list)")
        run = demo.run_demo(plan)
    return WorkflowResult(image=run.pictures["model"], weights=run.result.weights,
                          precision="exact", seconds=round(time.perf_counter() - start, 3),
                          demo=run.result, pictures=run.pictures)


def _to_u8(rgb: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray((rgb.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy())

