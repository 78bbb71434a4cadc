"""Publishing srl-data outputs to the Hugging Face Hub (``srl-data push``).

Each input file becomes one *configuration* named for its kind (``steps``,
``hindsight``, ``trajectories``, ``solutions``; ``NAME=PATH`` names it
yourself). Its rows are streamed into Parquet shards of bounded size under
``data/<config>/<split>-NNNNN-of-NNNNN.parquet``; with a validation fraction,
a trajectory's rows all go to the same split, chosen by a hash of its id (the
same on every run). Beside the data go ``README.md`` (the dataset card, see
:mod:`.card`) and, per configuration, ``srl_data/<config>/`` with the run
manifest, the ``srl-data run`` config when there is one, and what the card
says about it (so a later push of other configurations can keep describing it).

:func:`build_folder` writes all of that into a local folder (``--dry-run
--out DIR``: exactly what would be uploaded). :func:`push` then uploads it in
one commit that deletes only the files of the configurations being pushed;
the other configurations in the repository stay as they are. The token comes
from ``HF_TOKEN`` or the saved login and appears in no file, log or message.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .card import ConfigInfo, render_card
from .errors import ConfigError, HubError, InputError, OutputError
from .manifest import read_manifest, scrub
from .stats import KINDS, StatsCollector, kind_of

TRAIN, VALIDATION = "train", "validation"
PUSHABLE = tuple(k for k in KINDS if k != "rejects")
DEFAULT_SHARD_BYTES = 256 * 1024 * 1024
META_DIR = "srl_data"
CARD_INFO = "card.json"

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_CONFIG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
_LICENSE = re.compile(r"^[a-z0-9][a-z0-9.\-+]*$")
# Free-form dict columns (any keys, often none): stored as JSON text, since
# Parquet has no type for "a dict of anything" (nor for an empty struct).
JSON_COLUMNS = {"trajectories": {"metadata"}, "solutions": {"metadata"}}


@dataclass(frozen=True)
class PushConfig:
    """Options of ``srl-data push`` (the token is never part of it)."""

    sources: tuple[str, ...]
    repo_id: str
    license: str | None = None
    private: bool = False
    val_fraction: float = 0.0
    dry_run: bool = False
    out: str | None = None
    max_shard_bytes: int = DEFAULT_SHARD_BYTES
    batch_rows: int = 1000
    commit_message: str | None = None
    retries: int = 5

    def __post_init__(self) -> None:
        if not self.sources:
            raise ConfigError("give at least one file to push")
        if not _REPO_ID.match(self.repo_id):
            raise ConfigError(f"--repo-id '{self.repo_id}' is not of the form ORG/NAME",
                              hint="for example --repo-id my-org/gsm8k-srl")
        if self.license is not None and not _LICENSE.match(self.license):
            raise ConfigError(f"--license '{self.license}' is not a license id",
                              hint="use a Hub license id such as apache-2.0, mit, cc-by-4.0 or other")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"--val-fraction must be at least 0 and below 1, got {self.val_fraction}")
        if self.dry_run and not self.out:
            raise ConfigError("--dry-run needs --out DIR", hint="add --out DIR to see what would be uploaded")
        if self.out and not self.dry_run:
            raise ConfigError("--out is only used with --dry-run", hint="add --dry-run, or drop --out")
        if self.max_shard_bytes < 1 or self.batch_rows < 1:
            raise ConfigError("shard size and batch size must be positive")


@dataclass(frozen=True)
class Source:
    config: str
    path: str
    kind: str


@dataclass
class PushResult:
    repo_id: str
    folder: str
    configs: list[ConfigInfo]
    kept: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    dry_run: bool = False
    url: str | None = None


# ---------------------------------------------------------------------------
# Which files, which configs


def _first_row(path: str) -> tuple[dict[str, Any], str]:
    from .readers import read_rows

    for row in read_rows(path):
        return row.data, row.location
    raise InputError("is empty: it holds no rows", path=path)  # pragma: no cover - read_rows raises first


def resolve_sources(specs: tuple[str, ...] | list[str]) -> list[Source]:
    """``PATH`` or ``NAME=PATH`` specs -> configs named for their kind (detected from the columns)."""
    sources: list[Source] = []
    seen: dict[str, str] = {}
    for spec in specs:
        name: str | None = None
        path = spec
        if "=" in spec and not Path(spec).exists():
            name, path = spec.split("=", 1)
            if not _CONFIG_NAME.match(name):
                raise ConfigError(f"config name '{name}' in '{spec}' may hold only letters, digits, '-' and '_'",
                                  hint="write NAME=PATH, e.g. steps_math=out/steps.parquet")
        if not Path(path).is_file():
            raise InputError("no such file", path=path, hint="push files written by srl-data (JSONL or Parquet)")
        data, where = _first_row(path)
        kind = kind_of(data, path)
        if kind not in PUSHABLE:
            raise InputError(
                f"holds {kind}, which is not pushed as a dataset",
                path=where.rsplit(":", 1)[0],
                hint=f"push {', '.join(PUSHABLE)} files; rejects are summarised in the card from the run manifest",
            )
        config = name or kind
        if config in seen:
            raise ConfigError(
                f"'{seen[config]}' and '{path}' would both become config '{config}'",
                hint="name them apart with NAME=PATH, e.g. steps_a=a.parquet steps_b=b.parquet",
            )
        seen[config] = path
        sources.append(Source(config=config, path=path, kind=kind))
    return sources


# generate --n N names sample s of problem P "P#s"; the samples of one problem share a split.
_SAMPLE_SUFFIX = re.compile(r"#\d+$")


def trajectory_key(row: dict[str, Any], kind: str) -> str:
    """What keeps related rows together in one split: the trajectory id, less
    generate's ``#<sample>`` suffix (one problem's samples never straddle splits)."""
    if kind in ("steps", "hindsight"):
        value = row.get("trajectory_id")
        if value is None and isinstance(row.get("extra_info"), dict):
            value = row["extra_info"].get("trajectory_id")
    else:
        value = row.get("id")
    if value is None:
        return json.dumps(row.get("problem") or row, sort_keys=True, default=str)
    return _SAMPLE_SUFFIX.sub("", str(value))


def split_of(key: str, val_fraction: float) -> str:
    """train or validation, from a hash of ``key``: stable across runs and machines."""
    if val_fraction <= 0:
        return TRAIN
    digest = hashlib.sha256(f"srl-data/split/{key}".encode("utf-8")).digest()
    return VALIDATION if int.from_bytes(digest[:8], "big") / 2**64 < val_fraction else TRAIN


# ---------------------------------------------------------------------------
# Writing shards


class _ShardWriter:
    """Parquet shards of one split of one config, each at most about ``max_bytes``
    of Arrow data (one batch more at worst); every shard of a config shares one schema."""

    def __init__(self, folder: Path, split: str, schema_box: dict[str, Any], max_bytes: int, batch_rows: int,
                 source: str, json_columns: set[str] | None = None) -> None:
        self.folder = folder
        self.split = split
        self.schema_box = schema_box
        self.max_bytes = max_bytes
        self.batch_rows = batch_rows
        self.source = source
        self.schema_box.setdefault("json_columns", set(json_columns or ()))
        self.rows = 0
        self.parts: list[Path] = []
        self._buffer: list[dict[str, Any]] = []
        self._writer: Any = None
        self._bytes = 0

    def write(self, row: dict[str, Any]) -> None:
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= self.batch_rows:
            self._flush()

    def _table(self) -> Any:
        import pyarrow as pa

        from .writers import _fill_null_types

        schema = self.schema_box.get("schema")
        if schema is None:
            table = pa.Table.from_pylist(self._buffer)
            json_columns: set[str] = self.schema_box["json_columns"]
            json_columns |= {f.name for f in table.schema if _has_empty_struct(f.type)}
            if json_columns & set(table.schema.names):
                self._encode_json(json_columns)
                table = pa.Table.from_pylist(self._buffer)
            schema = _fill_null_types(table.schema)
            self.schema_box["schema"] = schema
            return table.cast(schema)
        columns = set(schema.names)
        self._encode_json(self.schema_box["json_columns"])
        for row in self._buffer:
            unknown = set(row) - columns
            if unknown:
                raise InputError(f"a row has columns the first rows lacked: {', '.join(sorted(unknown))}",
                                 path=self.source, hint="push files written by one srl-data run")
        try:
            return pa.Table.from_pylist(self._buffer, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"rows do not share one schema ({exc})", path=self.source,
                             hint="push files written by one srl-data run") from None

    def _encode_json(self, names: set[str]) -> None:
        if not names:
            return
        for row in self._buffer:
            for name in names & row.keys():
                if row[name] is not None and not isinstance(row[name], str):
                    row[name] = json.dumps(row[name], ensure_ascii=False, sort_keys=True, default=str)

    def _flush(self) -> None:
        if not self._buffer:
            return
        import pyarrow.parquet as pq

        table = self._table()
        self._buffer = []
        if self._writer is None:
            part = self.folder / f".{self.split}-{len(self.parts):05d}.parquet.partial"
            self.parts.append(part)
            self._writer = pq.ParquetWriter(part, table.schema, compression="zstd")
            self._bytes = 0
        self._writer.write_table(table)
        self._bytes += table.nbytes
        if self._bytes >= self.max_bytes:
            self._writer.close()
            self._writer = None

    def close(self) -> list[Path]:
        """Finish the shards and give them their final names ``split-00000-of-00003.parquet``."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        total = len(self.parts)
        final = []
        for index, part in enumerate(self.parts):
            target = self.folder / f"{self.split}-{index:05d}-of-{total:05d}.parquet"
            os.replace(part, target)
            final.append(target)
        return final


def _has_empty_struct(kind: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(_has_empty_struct(f.type) for f in kind)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _has_empty_struct(kind.value_type)
    return False


def _columns(schema: Any) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in schema] if schema is not None else []


def write_config(source: Source, folder: Path, config: PushConfig) -> ConfigInfo:
    """Stream one source file into ``folder/data/<config>/`` shards; return what the card needs."""
    from .readers import read_rows

    data_dir = folder / "data" / source.config
    data_dir.mkdir(parents=True, exist_ok=True)
    schema_box: dict[str, Any] = {}
    writers: dict[str, _ShardWriter] = {}
    collector = StatsCollector(source.kind, source.path)
    sample: dict[str, Any] | None = None
    for row in read_rows(source.path):
        data = row.data
        if kind_of(data, row.location) != source.kind:
            raise InputError(f"row is not a {source.kind} row like the first", path=row.path, line=row.line,
                             hint="push one kind of output per file")
        split = split_of(trajectory_key(data, source.kind), config.val_fraction)
        if split not in writers:
            writers[split] = _ShardWriter(data_dir, split, schema_box, config.max_shard_bytes, config.batch_rows,
                                          source.path, JSON_COLUMNS.get(source.kind))
        collector.add(data)
        if sample is None and split == TRAIN:
            sample = dict(data)
        writers[split].write(data)
    splits: dict[str, int] = {}
    for split in (TRAIN, VALIDATION):
        if split in writers:
            writers[split].close()
            splits[split] = writers[split].rows
    manifest = read_manifest(source.path)
    collector.add_manifest(manifest)
    return ConfigInfo(
        name=source.config,
        kind=source.kind,
        splits=splits,
        columns=_columns(schema_box.get("schema")),
        stats={k: v for k, v in collector.result().to_dict().items() if k != "path"},
        manifest=manifest,
        sample=sample,
    )


def _write_meta(folder: Path, info: ConfigInfo) -> None:
    """``srl_data/<config>/``: manifest, run config and card info of one configuration."""
    meta = folder / META_DIR / info.name
    meta.mkdir(parents=True, exist_ok=True)
    (meta / CARD_INFO).write_text(json.dumps(info.to_json(), ensure_ascii=False, indent=2, default=str) + "\n",
                                  encoding="utf-8")
    if info.manifest:
        (meta / "manifest.json").write_text(
            json.dumps(scrub(info.manifest), ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        run = info.manifest.get("run")
        if isinstance(run, dict) and run.get("config"):
            (meta / "run_config.yaml").write_text(
                yaml.safe_dump(scrub(run["config"]), sort_keys=False, allow_unicode=True), encoding="utf-8")


def build_folder(config: PushConfig, folder: Path, kept: list[ConfigInfo] | None = None) -> list[ConfigInfo]:
    """Write the data, metadata and card of ``config.sources`` into ``folder``.

    ``kept`` describes configurations already in the repository that this push
    keeps; they are listed in the card but not written.
    """
    sources = resolve_sources(config.sources)
    infos = []
    for source in sources:
        info = write_config(source, folder, config)
        _write_meta(folder, info)
        infos.append(info)
    pushed = {i.name for i in infos}
    everything = infos + [k for k in (kept or []) if k.name not in pushed]
    card = render_card(config.repo_id, everything, license=config.license)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return infos


def dry_run(config: PushConfig) -> PushResult:
    """Write exactly what would be uploaded into ``config.out``; no network."""
    assert config.out is not None
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise OutputError("is a file, not a folder", path=str(out), hint="give --out an empty or new folder")
    if out.exists() and any(out.iterdir()):
        if not (out / "README.md").is_file() or not (out / "data").is_dir():
            raise OutputError("is not empty and not an earlier dry run", path=str(out),
                              hint="give --out an empty or new folder")
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        infos = build_folder(config, work)
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return PushResult(repo_id=config.repo_id, folder=str(out), configs=infos, dry_run=True,
                      uploaded=sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()))


# ---------------------------------------------------------------------------
# Uploading


def resolve_token() -> str:
    """The Hub token: ``HF_TOKEN``, else the saved login. Never printed."""
    token = os.environ.get("HF_TOKEN")
    if token:
        return token
    try:
        from huggingface_hub import get_token
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        get_token = None  # type: ignore[assignment]
    token = get_token() if get_token is not None else None
    if not token:
        raise HubError("no Hugging Face token found",
                       hint="set HF_TOKEN, or log in once with `hf auth login`; or use --dry-run --out DIR")
    return token


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: rate limits, server errors, timeouts, dropped connections."""
    status = _status(exc)
    if status is not None:
        return status in (408, 409, 423, 429) or status >= 500
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    name = type(exc).__name__.lower()
    return any(word in name for word in ("timeout", "connect", "remoteprotocol", "readerror", "writeerror"))


def _clean(text: str, token: str) -> str:
    return scrub(text, [token]) if token else text


class _Hub:
    """The calls push makes, each retried on transient errors, errors made typed and token-free."""

    def __init__(self, api: Any, token: str, retries: int, sleep: Callable[[float], None]) -> None:
        self.api = api
        self.token = token
        self.retries = retries
        self.sleep = sleep

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except Exception as exc:
                if attempt < self.retries and is_transient(exc):
                    self.sleep(min(30.0, 2.0**attempt) * (0.5 + random.random() / 2))
                    continue
                status = _status(exc)
                detail = _clean(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, self.token)
                hint = {401: "check HF_TOKEN or log in again with `hf auth login`",
                        403: "the token cannot write to this repository: use a token with write access",
                        404: "check --repo-id"}.get(status or 0, "try again later, or use --dry-run --out DIR")
                raise HubError(f"{what} failed ({detail})", hint=hint) from None
        raise AssertionError("unreachable")  # pragma: no cover


def _existing_configs(hub: _Hub, repo_id: str, files: list[str], pushed: set[str]) -> list[ConfigInfo]:
    """Configurations in the repository that this push keeps, read from their card info."""
    names = sorted({f.split("/")[1] for f in files if f.startswith("data/") and f.count("/") >= 2} - pushed)
    kept = []
    for name in names:
        info_path = f"{META_DIR}/{name}/{CARD_INFO}"
        info: ConfigInfo | None = None
        if info_path in files:
            local = hub.call(f"downloading {info_path}", lambda p=info_path: hub.api.hf_hub_download(
                repo_id=repo_id, filename=p, repo_type="dataset"))
            try:
                info = ConfigInfo.from_json(json.loads(Path(local).read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                info = None
        if info is None:
            splits = sorted({Path(f).name.split("-")[0] for f in files if f.startswith(f"data/{name}/")})
            info = ConfigInfo(name=name, kind="unknown", splits={s: 0 for s in splits})
        kept.append(info)
    return kept


def upload(config: PushConfig, api: Any = None, token: str | None = None,
           sleep: Callable[[float], None] = time.sleep) -> PushResult:
    """Build the folder and upload it in one commit, replacing only the pushed configurations.

    ``api`` is an ``HfApi``-like object (tests pass a fake); by default a real
    ``HfApi`` with the token from :func:`resolve_token`.
    """
    token = token or resolve_token()
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    hub = _Hub(api, token, config.retries, sleep)
    repo_id = config.repo_id
    sources = resolve_sources(config.sources)  # fail on bad input before any network call
    pushed = {s.config for s in sources}
    repo = hub.call("creating the dataset repository", lambda: api.create_repo(
        repo_id=repo_id, repo_type="dataset", private=config.private, exist_ok=True))
    files = hub.call("listing the repository", lambda: list(api.list_repo_files(repo_id=repo_id,
                                                                                repo_type="dataset")))
    kept = _existing_configs(hub, repo_id, files, pushed)
    with tempfile.TemporaryDirectory(prefix="srl-data-push-") as tmp:
        folder = Path(tmp)
        infos = build_folder(config, folder, kept)
        local = sorted(str(p.relative_to(folder)).replace(os.sep, "/") for p in folder.rglob("*") if p.is_file())
        stale = [f for f in files if f not in local and any(
            f.startswith(f"{prefix}/{name}/") for name in pushed for prefix in ("data", META_DIR))]

        def operations() -> Iterator[Any]:
            # Fresh objects on every attempt: create_commit mutates them.
            for path in stale:
                yield CommitOperationDelete(path_in_repo=path)
            for path in local:
                yield CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(folder / path))

        names = ", ".join(sorted(pushed))
        message = config.commit_message or f"srl-data push: {names}"
        commit = hub.call("uploading", lambda: api.create_commit(
            repo_id=repo_id, repo_type="dataset", operations=list(operations()), commit_message=message))
    url = getattr(commit, "commit_url", None) or getattr(repo, "url", None) or str(repo)
    return PushResult(repo_id=repo_id, folder="", configs=infos, kept=[k.name for k in kept], deleted=stale,
                      uploaded=local, url=_clean(str(url), token) if url else None)


def push(config: PushConfig, api: Any = None, token: str | None = None,
         sleep: Callable[[float], None] = time.sleep) -> PushResult:
    """``srl-data push``: a dry run into ``config.out``, or an upload to ``config.repo_id``."""
    if config.dry_run:
        return dry_run(config)
    return upload(config, api=api, token=token, sleep=sleep)
