"""`cnaps train`: train or fine-tune LIIF from a config file (see cnaps.sr.train)."""

from __future__ import annotations

import click

from cnaps.output import check_can_write, removed_on_failure


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Run folder: last.pth (resumable), best.pth, log.jsonl. Rerun to resume.")
@click.option("--data", default=None, help="HR image folder (overrides the config's `data`).")
@click.option("--steps", type=int, default=None, help="Total steps (overrides the config).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where to train.")
@click.option("--threads", type=int, default=None,
              help="CPU threads for PyTorch (default: PyTorch's choice).")
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop cleanly after this much wall time (resumable: run again to continue).")
def train(config, out_dir, data, steps, device, threads, max_minutes):
    """Train LIIF with the paper's recipe from a TOML/JSON CONFIG.

    Validation Y-PSNR (and bicubic's, for reference) on held-out photos is logged every epoch;
    best.pth and last.pth are in the released checkpoint format, so `cnaps upscale --weights
    RUN/best.pth` uses them directly. Running the same command again resumes from last.pth.
    """
    import torch

    from cnaps.sr.train import load_config
    from cnaps.sr.train import train as run

    if threads:
        torch.set_num_threads(threads)
    cfg = load_config(config, data=data, steps=steps)
    check_can_write(out_dir, "--out")  # before reading photos or building the model
    with removed_on_failure(out_dir, keep_contents=True):
        record = run(cfg, out_dir, device=device, max_minutes=max_minutes, log=click.echo)
    scores = ", ".join(f"sigma {k}: {v:.2f} dB" for k, v in record.get("val_psnr", {}).items())
    click.echo(f"last validation at step {record.get('step')} of {cfg.steps}: Y-PSNR {scores}; "
               f"best weights in {out_dir}/best.pth")
