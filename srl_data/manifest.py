"""Run manifests: the provenance that travels with every output.

Each srl-data writer leaves ``<output>.manifest.json`` beside its output: the
srl-data version, the command, its options (never a secret), the inputs, the
prompt templates (id and hash), segmenter, strategy, teacher and sampling
parameters when there are any, the run's counts and when it ran. Parquet
outputs also carry the manifest (without the counts, which are known only at
the end) in their schema metadata under :data:`PARQUET_KEY`, so a Parquet file
moved without its sidecar still says where it came from. ``srl-data push``
reads manifests into the dataset card.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .writers import atomic_write_text

SUFFIX = ".manifest.json"
PARQUET_KEY = "srl_data.manifest"
MANIFEST_VERSION = "1"

# Option names that hold a secret, never written anywhere. ``api_key_env``
# (the *name* of a variable) is fine; ``max_tokens`` is not a secret.
_SECRET_KEY = re.compile(
    r"(^|_)(api_?key|token|hf_token|secret|password|passwd|authorization|auth|bearer|cookie|credentials?)$",
    re.IGNORECASE,
)
# Values that look like a key whatever their option is called.
_SECRET_VALUE = re.compile(r"\b(hf_[A-Za-z0-9]{16,}|sk-[A-Za-z0-9_\-]{16,}|Bearer\s+\S{8,})")
# Credentials inside a URL: user:password@ and key/token query parameters.
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^/\s@]+@", re.IGNORECASE)
_URL_SECRET_PARAM = re.compile(r"([?&](?:api[_-]?key|key|token|access_token|sig|signature)=)[^&#\s]+", re.IGNORECASE)
# Environment variables whose values never appear in a manifest.
SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY")
REDACTED = "<redacted>"


def manifest_path(output: str | os.PathLike[str]) -> Path:
    """Where the manifest of ``output`` lives: ``<output>.manifest.json``."""
    path = Path(output)
    return path.with_name(path.name + SUFFIX)


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_KEY.search(name))


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` (dicts, lists, scalars) with secret options dropped
    and secret-looking strings (and the given secret values) redacted."""
    known = [s for s in (*secrets, *(os.environ.get(n) for n in SECRET_ENV)) if s and len(s) >= 8]

    def clean(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {str(k): clean(v) for k, v in item.items() if not is_secret_key(str(k))}
        if isinstance(item, (list, tuple, set, frozenset)):
            return [clean(v) for v in item]
        if isinstance(item, str):
            text = _SECRET_VALUE.sub(REDACTED, item)
            text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
            text = _URL_SECRET_PARAM.sub(rf"\1{REDACTED}", text)
            for secret in known:
                text = text.replace(secret, REDACTED)
            return text
        if isinstance(item, Path):
            return str(item)
        if item is None or isinstance(item, (bool, int, float)):
            return item
        return clean(str(item))

    return clean(value)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain dict of a config object (dataclass, pydantic model or mapping), secrets removed."""
    if config is None:
        return {}
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        data: Any = dataclasses.asdict(config)
    elif hasattr(config, "model_dump"):
        data = config.model_dump(mode="json")
    elif isinstance(config, Mapping):
        data = dict(config)
    else:
        raise TypeError(f"cannot describe a {type(config).__name__} config")
    return scrub(data)


def build_manifest(
    command: str,
    *,
    config: Any = None,
    inputs: Iterable[str] = (),
    outputs: Mapping[str, str | None] | None = None,
    templates: Iterable[Mapping[str, str]] = (),
    segmenter: Any = None,
    strategy: Any = None,
    teacher: Mapping[str, Any] | None = None,
    counts: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of one run, as a JSON-ready dict (secrets removed).

    ``templates`` is a list of ``{"id": ..., "hash": ...}``; ``teacher`` holds
    the model and sampling parameters when a teacher was used.
    """
    unique_templates = sorted({(t["id"], t["hash"]) for t in templates})
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "srl_data_version": __version__,
        "command": command,
        "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "inputs": [str(i) for i in inputs],
        "outputs": {k: str(v) for k, v in (outputs or {}).items() if v},
        "config": config_to_dict(config),
        "templates": [{"id": i, "hash": h} for i, h in unique_templates],
    }
    if segmenter is not None:
        manifest["segmenter"] = segmenter
    if strategy is not None:
        manifest["strategy"] = strategy
    if teacher:
        manifest["teacher"] = dict(teacher)
    if counts is not None:
        manifest["counts"] = dict(counts)
    if extra:
        manifest.update(extra)
    return scrub(manifest)


def parquet_metadata(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The ``metadata=`` to hand a Parquet writer so the file carries its manifest."""
    return {PARQUET_KEY: json.dumps(scrub(dict(manifest)), ensure_ascii=False, sort_keys=True)}


def write_manifest(output: str | os.PathLike[str], manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest`` beside ``output`` atomically; return its path."""
    path = manifest_path(output)
    text = json.dumps(scrub(dict(manifest)), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    atomic_write_text(path, text)
    return path


def write_manifests(outputs: Iterable[str | os.PathLike[str] | None], manifest: Mapping[str, Any]) -> list[Path]:
    """The same manifest beside each of several outputs of one run."""
    return [write_manifest(o, manifest) for o in outputs if o]


def read_manifest(output: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of ``output``: its sidecar file, else its Parquet metadata, else None."""
    path = manifest_path(output)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None
    if str(output).endswith(".parquet") and Path(output).is_file():
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(output).metadata or {}
        except Exception:  # not a readable Parquet file: no manifest
            return None
        raw = meta.get(PARQUET_KEY.encode())
        if raw:
            try:
                data = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return None
            return data if isinstance(data, dict) else None
    return None


def update_manifest(output: str | os.PathLike[str], **fields: Any) -> dict[str, Any]:
    """Add or replace top-level fields of ``output``'s manifest (creating a bare one if none)."""
    manifest = read_manifest(output) or build_manifest("unknown", outputs={"output": str(output)})
    manifest.update(fields)
    write_manifest(output, manifest)
    return manifest
