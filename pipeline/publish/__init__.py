"""Publish a run's finished dataset (``<run_dir>/dataset/``) to a Hugging Face Hub dataset repository.

- ``local``: the repo id, and the folder checked file by file (size, sha256) against its manifest;
- ``history`` and ``card``: ``<run_dir>/publish/history.json`` and the card's ``## Changelog``;
- ``hub``: huggingface_hub behind one retry policy (429/412/5xx, connection errors) and one-line errors;
- ``upload``: plan against what the repo holds, commit in batches of at most 100 files;
- ``flow``: the order of all of it, ``publish()``.

One publish is one commit whose message names the run and the recipe hash. Above 100 files the data
goes in earlier commits and only the final one carries the card: a reader who sees the new card
sees every file it describes.
"""

from pipeline.publish.flow import Publish, publish
from pipeline.publish.hub import RetryPolicy

__all__ = ["Publish", "RetryPolicy", "publish"]
