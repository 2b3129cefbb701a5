"""Training and fine-tuning LIIF (LIIF_SPEC §3; reference code yinboc/liif).

One validated config (TOML or JSON, `TrainConfig`) describes the run: the HR image folder, the
model (fresh from a spec, or initialised from weights to fine-tune), the sampler (the paper's
per-sample recipe plus noise/JPEG augmentation of the LR input), the optimiser (Adam, L1 loss,
lr halved at milestones) and validation (Y-PSNR on held-out photos, clean and noisy, per epoch).

The run directory holds `last.pth` (model + optimiser + scheduler + RNG states: a resumed run
continues bit-identically), `best.pth` (the best validation score so far) and `log.jsonl`.
Both checkpoints are in the released format, so `cnaps upscale --weights` and `cnaps eval` read
them directly.
"""

from __future__ import annotations

import json
import math
import time
import tomllib
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cnaps.errors import CheckpointError, ConfigError, DataError, validation_line
from cnaps.sr import metrics
from cnaps.sr.checkpoint import (
    check_architecture,
    load_model,
    read_checkpoint,
    save_checkpoint,
)
from cnaps.sr.crops import busiest_crop
from cnaps.sr.data import Batch, Sampler, SamplerConfig, list_images, to_input
from cnaps.sr.degrade import add_gaussian_noise
from cnaps.sr.device import pick_device
from cnaps.sr.imageio import read_rgb
from cnaps.sr.liif import LIIF, pixel_centres
from cnaps.sr.registry import make
from cnaps.sr.resize import resize_pil


class ModelConfig(BaseModel):
    """Fine-tune from `init` (a weights name such as liif-edsr-baseline, or a .pth path), or
    train a fresh LIIF with the given encoder and MLP."""

    model_config = ConfigDict(extra="forbid")
    init: str | None = None
    encoder: str = "edsr-baseline"
    encoder_args: dict = Field(default_factory=dict)
    hidden_list: list[int] = Field(default_factory=lambda: [256, 256, 256, 256])


class OptimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lr: float = Field(1e-4, gt=0)
    milestones: list[int] = Field(default_factory=list, description="steps where lr *= gamma")
    gamma: float = Field(0.5, gt=0, le=1)


class ValConfig(BaseModel):
    """Held-out photos: `folder`, or `holdout` images spread evenly over the data folder
    (sorted by name), which are then not trained on. Each contributes its centre crop of `crop` HR pixels,
    downscaled by `scale` and degraded with each noise level of `sigmas` (fixed seeds)."""

    model_config = ConfigDict(extra="forbid")
    folder: str | None = None
    holdout: int = Field(4, ge=0)
    crop: int = Field(192, ge=16)
    scale: int = Field(4, ge=1)
    sigmas: list[float] = Field(default_factory=lambda: [0.0])

    @model_validator(mode="after")
    def _crop_multiple(self):
        if self.crop % self.scale:
            raise ValueError(f"val.crop {self.crop} is not a multiple of val.scale {self.scale}")
        return self


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(description="folder of HR training images")
    model: ModelConfig = ModelConfig()
    sampler: SamplerConfig = SamplerConfig()
    optim: OptimConfig = OptimConfig()
    val: ValConfig = ValConfig()
    batch_size: int = Field(16, ge=1)
    steps: int = Field(1000, ge=1, description="total optimiser steps")
    steps_per_epoch: int = Field(100, ge=1, description="validation and checkpoint interval")
    checkpoint_minutes: float = Field(5.0, gt=0, description="also checkpoint this often")
    seed: int = 0

    @model_validator(mode="after")
    def _sane(self):
        """What field bounds alone do not catch, found before any image is read or model built
        (each once crashed a run or tried to allocate terabytes)."""
        bad = _non_finite(self.model_dump())
        if bad:
            raise ValueError(f"{bad} must be a finite number")
        s = self.sampler
        limits = {"sampler.lr_size": (s.lr_size, MAX_LR_SIZE),
                  "sampler.scale_max": (s.scale_max, MAX_TRAIN_SCALE),
                  "batch_size": (self.batch_size, MAX_BATCH_SIZE)}
        for where, (value, limit) in limits.items():
            if value > limit:
                raise ValueError(f"{where} = {value:g} is over the limit of {limit}")
        if s.scale_max < s.scale_min:
            raise ValueError(f"sampler.scale_max {s.scale_max:g} is below scale_min "
                             f"{s.scale_min:g}")
        smallest = round(s.lr_size * s.scale_min)  # side of the smallest HR crop
        if s.queries > smallest * smallest:
            # Every sample of a batch must give the same number of query pixels.
            raise ValueError(f"sampler.queries {s.queries} is more than the {smallest * smallest}"
                             f" HR pixels of the smallest crop ({smallest}x{smallest} = lr_size "
                             f"x scale_min); use at most {smallest * smallest}")
        if self.model.init is None:
            try:
                check_architecture(model_args(self.model))
            except CheckpointError as exc:
                raise ValueError(f"model: {exc}") from None
        return self


# Upper bounds of the sampler and batch: far above the paper's recipe (48 px, x4, batch 16),
# low enough that a typo cannot ask for more memory than any machine has.
MAX_LR_SIZE = 1024
MAX_TRAIN_SCALE = 64
MAX_BATCH_SIZE = 4096


def _non_finite(data, where: str = "") -> str | None:
    """The dotted path of the first NaN or infinite number in a dumped config, or None."""
    if isinstance(data, float) and not math.isfinite(data):
        return where or "a value"
    items = data.items() if isinstance(data, dict) else enumerate(data) \
        if isinstance(data, list) else ()
    for key, value in items:
        found = _non_finite(value, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def model_args(cfg: ModelConfig) -> dict:
    """The LIIF args of a fresh model described by `cfg`."""
    return {"encoder_spec": {"name": cfg.encoder, "args": {"no_upsampling": True,
                                                            **cfg.encoder_args}},
            "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": cfg.hidden_list}}}


def load_config(path: str | Path, **overrides) -> TrainConfig:
    """Read a TOML or JSON config file; `overrides` replace top-level keys (e.g. data=...)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (bad byte at offset {exc.start}); expected "
                          "a TOML or JSON config") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot parse {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} holds a JSON {type(raw).__name__}; expected an object of "
                          "settings such as {\"data\": \"photos/\"}")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {validation_line(exc)}") from None


def build_model(cfg: ModelConfig) -> LIIF:
    if cfg.init is not None:
        path = Path(cfg.init).expanduser()
        if not path.is_file():
            from cnaps.sr.weights import resolve

            path = Path(resolve(cfg.init).file)
        return load_model(path)
    return make({"name": "liif", "args": model_args(cfg)})


class Validator:
    """Fixed held-out (LR, HR) pairs; scores a model and the bicubic baseline per noise level."""

    def __init__(self, images: list[np.ndarray], cfg: ValConfig):
        self.cfg = cfg
        self.pairs: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {s: [] for s in cfg.sigmas}
        for i, img in enumerate(images):
            h, w = img.shape[:2]
            if min(img.shape[:2]) < cfg.crop:
                continue
            hr = busiest_crop(img, cfg.crop)
            lr = resize_pil(hr, (cfg.crop // cfg.scale, cfg.crop // cfg.scale))
            for sigma in cfg.sigmas:
                rng = np.random.default_rng([i, int(sigma * 1000)])
                self.pairs[sigma].append((add_gaussian_noise(lr, sigma, rng), hr))
        if not self.pairs.get(cfg.sigmas[0]):
            raise DataError(f"no validation image is at least {cfg.crop}px on its short side")
        self.bicubic = {s: self._mean(s, lambda lr, n: resize_pil(lr, (n, n)).transpose(2, 0, 1)
                                      / 255.0) for s in cfg.sigmas}

    def _mean(self, sigma: float, upscale: Callable) -> float:
        scores = [metrics.psnr(upscale(lr, self.cfg.crop), hr.transpose(2, 0, 1) / 255.0,
                               self.cfg.scale) for lr, hr in self.pairs[sigma]]
        return float(np.mean(scores))

    @torch.no_grad()
    def score(self, model: LIIF, device: torch.device) -> dict[float, float]:
        was_training = model.training
        model.eval()
        n = self.cfg.crop
        c = pixel_centres(n, device=device)
        coord = torch.stack(torch.meshgrid(c, c, indexing="ij"), -1).view(1, -1, 2)
        cell = torch.full_like(coord, 2.0 / n)

        def run(lr, size):
            out = model(to_input(lr)[None].to(device), coord, cell)  # (1, n*n, 3)
            img = (out[0] * 0.5 + 0.5).clamp(0, 1).view(size, size, 3).permute(2, 0, 1)
            return img.double().cpu().numpy()

        result = {s: self._mean(s, run) for s in self.cfg.sigmas}
        model.train(was_training)
        return result


def configure_device(dev: torch.device) -> None:
    """On a GPU: TF32 matrix products and cuDNN's tuned convolutions (weights stay fp32;
    training batches have a fixed shape, so tuning pays). Not yet measured by cnaps' developers:
    no GPU was available to them."""
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


def train_step(model: LIIF, optimizer: torch.optim.Optimizer, scheduler,
               batch: Batch) -> torch.Tensor:
    """One optimiser step of the paper's objective: L1 on normalised RGB at the queries.
    Returns the loss as a detached tensor on the model's device (no host sync here)."""
    pred = model(batch.inp, batch.coord, batch.cell)  # (B, Q, 3)
    loss = torch.nn.functional.l1_loss(pred, batch.gt)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()
    return loss.detach()


def split_images(cfg: TrainConfig) -> tuple[list[Path], list[Path]]:
    files = list_images(cfg.data)
    if cfg.val.folder is not None:
        return files, list_images(cfg.val.folder)
    if cfg.val.holdout >= len(files):
        raise DataError(f"{cfg.data} has {len(files)} images: too few to hold out "
                        f"{cfg.val.holdout} for validation and train on the rest")
    every = len(files) / max(cfg.val.holdout, 1)
    held = {int((i + 0.5) * every) for i in range(cfg.val.holdout)}  # spread over the folder
    return ([f for i, f in enumerate(files) if i not in held],
            [f for i, f in enumerate(files) if i in held])


def _resume_key(cfg: TrainConfig) -> str:
    """The settings a resumed run must share with the interrupted one (steps may grow)."""
    return json.dumps(cfg.model_dump(include={"model", "sampler", "optim", "batch_size", "seed"}),
                      sort_keys=True)


def _rng_state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


class Run:
    """One training run's state: what `setup` builds, `run_step` advances and `checkpoint` saves."""

    def __init__(self, cfg: TrainConfig, out_dir: Path, dev: torch.device):
        self.cfg, self.dev = cfg, dev
        self.last_path, self.best_path = out_dir / "last.pth", out_dir / "best.pth"
        self.log_path = out_dir / "log.jsonl"
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        train_files, val_files = split_images(cfg)
        self.sampler = Sampler([read_rgb(p) for p in train_files], cfg.sampler, self.rng)
        self.validator = Validator([read_rgb(p) for p in val_files], cfg.val)
        self.model = build_model(cfg.model).to(dev).train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.optim.lr)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, cfg.optim.milestones,
                                                              cfg.optim.gamma)
        self.step, self.best, self.record = 0, -math.inf, {}
        self.loss_avg: float | None = None

    def append_log(self, record: dict) -> None:
        with open(self.log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def resume_or_start(self, log: Callable[[str], None]) -> None:
        """Continue from last.pth (same config only), else score the untrained model first."""
        if self.last_path.is_file():
            ckpt = read_checkpoint(self.last_path)
            if ckpt.get("config", {}).get("resume_key") != _resume_key(self.cfg):
                raise ConfigError(f"{self.last_path} was written with a different config; use a "
                                  "new output folder or the same config to resume")
            self.model.load_state_dict(ckpt["model"]["sd"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.scheduler.load_state_dict(ckpt["scheduler"])
            self.rng.bit_generator.state = ckpt["rng_numpy"]
            torch.set_rng_state(ckpt["rng_torch"])
            self.step, self.best, self.record = ckpt["step"], ckpt["best"], ckpt.get("record", {})
            log(f"resumed from {self.last_path} at step {self.step}")
            return
        self.record = {"step": 0, "epoch": 0,
                       "val_psnr": {str(k): v for k, v in
                                    self.validator.score(self.model, self.dev).items()},
                       "bicubic_psnr": {str(k): v for k, v in self.validator.bicubic.items()}}
        log(f"before training: {json.dumps(self.record)}")
        self.append_log(self.record)

    def run_step(self) -> float:
        """One optimiser step; returns the step's loss and keeps a running average."""
        batch = self.sampler.batch(self.cfg.batch_size).to(self.dev)
        loss = train_step(self.model, self.optimizer, self.scheduler, batch).item()
        self.step += 1
        self.loss_avg = loss if self.loss_avg is None else 0.9 * self.loss_avg + 0.1 * loss
        return loss

    def validate(self) -> dict:
        """End of an epoch: score, keep best.pth when the mean improved, log the record."""
        cfg, step = self.cfg, self.step
        scores = self.validator.score(self.model, self.dev)
        mean = float(np.mean(list(scores.values())))
        record = {"step": step, "epoch": step // cfg.steps_per_epoch, "loss": self.loss_avg,
                  "lr": self.scheduler.get_last_lr()[0],
                  "val_psnr": {str(k): v for k, v in scores.items()}, "val_mean": mean,
                  "bicubic_psnr": {str(k): v for k, v in self.validator.bicubic.items()},
                  "time": time.time()}
        if mean > self.best:
            self.best = mean
            record["best"] = True
            save_checkpoint(self.model, self.best_path, epoch=record["epoch"], step=step,
                            val_psnr=record["val_psnr"])
        self.append_log(record)
        self.record = record
        return record

    def checkpoint(self) -> None:
        """last.pth: everything a resumed run needs to continue exactly."""
        cfg = self.cfg
        save_checkpoint(self.model, self.last_path, optimizer=self.optimizer.state_dict(),
                        epoch=self.step // cfg.steps_per_epoch, step=self.step, best=self.best,
                        record=self.record, scheduler=self.scheduler.state_dict(),
                        rng_numpy=_rng_state(self.rng), rng_torch=torch.get_rng_state(),
                        config={**cfg.model_dump(), "resume_key": _resume_key(cfg)})


def setup(cfg: TrainConfig, out_dir: str | Path, device: str = "auto") -> Run:
    """The output folder, the device and a fresh `Run` (data, model, optimiser, schedule)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dev = pick_device(device)
    configure_device(dev)
    return Run(cfg, out_dir, dev)


def train(cfg: TrainConfig, out_dir: str | Path, device: str = "auto", progress: bool = True,
          stop_after: int | None = None, max_minutes: float | None = None,
          log: Callable[[str], None] = print) -> dict:
    """Run (or resume) training; returns the last validation record.

    `stop_after` ends the run after that many total steps, and `max_minutes` after that much
    wall time (for machines lent by the hour), as an interruption would, leaving a resumable
    `last.pth`: the same command continues the run."""
    from tqdm import tqdm

    deadline = None if max_minutes is None else time.monotonic() + max_minutes * 60
    run = setup(cfg, out_dir, device)
    run.resume_or_start(log)
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    bar = tqdm(total=cfg.steps, initial=run.step, disable=not progress, unit="step", smoothing=0.1)
    last_save = time.monotonic()
    while run.step < end:
        t0 = time.monotonic()
        run.run_step()
        bar.update(1)
        bar.set_postfix(loss=f"{run.loss_avg:.4f}", s_per_step=f"{time.monotonic() - t0:.2f}")
        if run.step % cfg.steps_per_epoch == 0 or run.step == cfg.steps:
            record = run.validate()
            bar.write(f"epoch {record['epoch']} step {run.step}: val Y-PSNR "
                      + ", ".join(f"sigma {k}: {v:.2f} (bicubic {run.validator.bicubic[float(k)]:.2f})"
                                  for k, v in record["val_psnr"].items()))
            run.checkpoint()
            last_save = time.monotonic()
        elif time.monotonic() - last_save > cfg.checkpoint_minutes * 60 or run.step == end:
            run.checkpoint()
            last_save = time.monotonic()
        if deadline is not None and time.monotonic() > deadline and run.step < end:
            run.checkpoint()
            log(f"stopped after {max_minutes:g} minutes at step {run.step} of {cfg.steps}; "
                "run the same command again to continue")
            break
    bar.close()
    return run.record


def export_weights(checkpoint: str | Path, out: str | Path) -> tuple[str, int]:
    """Write a run's checkpoint as a release: model spec + weights + epoch, no optimiser or
    run state. Returns (sha256, size in bytes) of the written file."""
    from cnaps.sr.weights import sha256_of

    ckpt = read_checkpoint(checkpoint)
    model = load_model(checkpoint)
    save_checkpoint(model, out, epoch=ckpt.get("epoch"))
    return sha256_of(Path(out)), Path(out).stat().st_size
