"""Every tensor the engine makes lives on the model's device.

No GPU is needed to catch a tensor left on the CPU: the model runs on the `meta` device (shapes
only, no data) under `SameDevice`, a dispatch mode that sees every operator call and refuses one
whose tensors sit on two devices, as CUDA kernels do (meta alone lets matmul and index_select
mix devices). CPU 0-dim tensors are exempt: torch treats them as scalars on any device.
"""

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from cnaps.sr.inference import upscale
from cnaps.sr.registry import make
from cnaps.sr.train import train_step

META = torch.device("meta")


class SameDevice(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        devices = {t.device for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)
                   and not (t.device.type == "cpu" and t.dim() == 0)}
        if len(devices) > 1:
            raise AssertionError(f"{func} combines tensors on {sorted(map(str, devices))}")
        return func(*args, **kwargs)


@pytest.fixture(autouse=True)
def same_device():
    with SameDevice():
        yield


def tiny_liif():
    torch.manual_seed(0)
    return make({"name": "liif", "args": {
        "encoder_spec": {"name": "edsr-baseline", "args": {"no_upsampling": True, "n_resblocks": 1,
                                                           "n_feats": 8}},
        "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [16, 16]}}}})


@pytest.mark.parametrize("mix", [
    lambda: torch.ones(4, device=META) @ torch.ones(4, 3),
    lambda: torch.ones(5, 4, device=META).index_select(0, torch.tensor([1])),
    lambda: torch.ones(5, device=META).add_(torch.ones(5)),
])
def test_a_cpu_tensor_cannot_meet_a_meta_tensor(mix):
    """The premise of this file: the mixes it guards against are errors here."""
    with pytest.raises(AssertionError, match="combines tensors on"):
        mix()


@pytest.mark.parametrize("out_dtype", [torch.float32, torch.uint8])
def test_tiled_upscale_runs_on_meta(out_dtype):
    model = tiny_liif().eval()
    lr = torch.rand(3, 21, 17)
    out = upscale(model, lr, (50, 39), device=META, out_dtype=out_dtype, tile_pixels=64 * 64)
    assert out.device == META and out.shape == (3, 50, 39) and out.dtype == out_dtype


def test_forward_query_runs_on_meta():
    """The training/evaluation path: `forward` with random coordinates and a batch of two."""
    model = tiny_liif().to(META)
    inp = torch.empty(2, 3, 9, 11, device=META)
    coord = torch.empty(2, 30, 2, device=META)
    cell = torch.empty(2, 30, 2, device=META)
    out = model(inp, coord, cell)
    assert out.device == META and out.shape == (2, 30, 3)


def test_training_step_runs_on_meta():
    from cnaps.sr.data import Batch

    model = tiny_liif().to(META).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, foreach=False)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [10], 0.5)
    batch = Batch(torch.rand(2, 3, 8, 8), torch.rand(2, 20, 2) * 2 - 1,
                  torch.full((2, 20, 2), 0.1), torch.rand(2, 20, 3)).to(META)
    loss = train_step(model, optimizer, scheduler, batch)
    assert loss.device == META and loss.shape == ()


def test_pick_device():
    from cnaps.errors import ConfigError
    from cnaps.sr.device import pick_device

    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="auto, cpu, cuda"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            pick_device("cuda")
