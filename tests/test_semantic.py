"""The sentence embedder: the same vectors as the reference sentence-transformers pipeline."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cnaps.answer.semantic import DIMENSION, MAX_TOKENS, embed, model_dir

TEXTS = [
    "Enlarges photographs by any factor with a continuous image decoder.",
    "Detects and counts penguins in drone footage.",
    "a",
    "word " * (MAX_TOKENS + 50),  # longer than the model reads: cut at the same place
]


def test_same_vectors_as_sentence_transformers():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(model_dir()), device="cpu")
    expected = np.stack([reference.encode([t], normalize_embeddings=True)[0] for t in TEXTS])
    np.testing.assert_allclose(embed(TEXTS), expected, atol=1e-5)


def test_unit_vectors_and_meaning():
    vectors = embed(["a cat sleeps on the sofa", "a kitten naps on a couch", "interest rates rose in May"])
    assert vectors.shape == (3, DIMENSION)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.6 > 0.2 > vectors[0] @ vectors[2]
    assert embed([]).shape == (0, DIMENSION)
