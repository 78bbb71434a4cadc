"""The whole chain from one YAML file (``srl-data run CONFIG.yaml``).

Stages run in order: ``generate`` (when the file has a ``generate`` section),
``split_steps`` (always), ``hindsight`` and ``push`` (when configured). Each
stage calls the library function of its command with that command's options,
and writes into ``output_dir``. A stage whose inputs (file contents) and
options are unchanged since its last run is not redone: its fingerprint is
kept in the run manifest beside its output. The resolved config is saved as
``output_dir/srl-data-run.yaml`` and travels in every manifest, so the dataset
card shows it.

The sections' keys are the option names of the library config objects
(``SegmentOptions``, ``StepRecordOptions``, ``HindsightOptions``,
``GenerateConfig``, ``PushConfig``), read from the dataclasses themselves: an
option added to a command is accepted here without another edit. Unknown keys
are errors naming the key, its line and the file. A new stage is one
:class:`Stage` subclass added to :data:`STAGES`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from . import __version__
from .errors import ConfigError, SrlDataError
from .manifest import read_manifest, update_manifest

SAVED_CONFIG = "srl-data-run.yaml"
PUSH_RECEIPT = "push.json"


# ---------------------------------------------------------------------------
# The config file


def _section_model(
    name: str,
    sources: Iterable[type],
    *,
    exclude: Iterable[str] = (),
    rename: dict[str, str] | None = None,
    extra: dict[str, tuple[Any, Any]] | None = None,
) -> type[BaseModel]:
    """A pydantic model (extra keys forbidden) whose fields are those of the given dataclasses."""
    rename = rename or {}
    skip = set(exclude)
    fields: dict[str, tuple[Any, Any]] = {}
    for source in sources:
        hints = typing.get_type_hints(source)
        for item in dataclasses.fields(source):
            if item.name in skip or not item.init:
                continue
            if item.default is not dataclasses.MISSING:
                default = item.default
            elif item.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                continue  # nested option objects are flattened by the caller
            else:
                default = ...
            fields[rename.get(item.name, item.name)] = (hints[item.name], default)
    fields.update(extra or {})
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


def _pick(values: dict[str, Any], cls: type, rename: dict[str, str] | None = None) -> dict[str, Any]:
    """The keys of ``values`` that are init fields of dataclass ``cls`` (after renaming)."""
    back = {v: k for k, v in (rename or {}).items()}
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return {back.get(k, k): v for k, v in values.items() if back.get(k, k) in names}


@dataclass(frozen=True)
class _Models:
    root: type[BaseModel]
    sections: dict[str, type[BaseModel]]


_RECORD_RENAME = {"template": "prompt_template"}
_HINDSIGHT_RENAME = {"template": "prompt_template"}


def _models() -> _Models:
    from .generate import GenerateConfig
    from .hindsight import HindsightOptions
    from .publish import PushConfig
    from .records import StepRecordOptions
    from .trajectories import ReadOptions, SegmentOptions

    split_steps = _section_model(
        "split_steps", [SegmentOptions, StepRecordOptions], rename=_RECORD_RENAME,
        extra={"format": (str, "trl"), "output": (str, "steps.parquet"),
               "trajectories_out": (str, "trajectories.jsonl"), "rejects": (str, "rejects.jsonl")},
    )
    hindsight = _section_model(
        "hindsight", [HindsightOptions], rename=_HINDSIGHT_RENAME,
        extra={"format": (str, "trl"), "output": (str, "hindsight.parquet"), "rejects": (str | None, None)},
    )
    generate = _section_model(
        "generate", [GenerateConfig],
        exclude=("input", "output", "read", "segment", "dry_run", "failures", "cache", "fsync"),
        extra={"output": (str, "solutions.jsonl")},
    )
    push = _section_model(
        "push", [PushConfig], exclude=("sources", "dry_run", "out", "batch_rows"),
        extra={"configs": (list[str], ["steps", "hindsight"]), "dry_run": (bool, False), "out": (str, "hub")},
    )
    root_fields: dict[str, tuple[Any, Any]] = {
        "input": (str, ...),
        "output_dir": (str, ...),
        "generate": (generate | None, None),
        "split_steps": (split_steps, split_steps()),
        "hindsight": (hindsight | None, None),
        "push": (push | None, None),
    }
    hints = typing.get_type_hints(ReadOptions)
    for item in dataclasses.fields(ReadOptions):
        root_fields[item.name] = (hints[item.name], item.default)
    root = create_model("pipeline", __config__=ConfigDict(extra="forbid"), **root_fields)  # type: ignore[call-overload]
    return _Models(root=root, sections={"generate": generate, "split_steps": split_steps,
                                        "hindsight": hindsight, "push": push})


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the key at ``loc`` in a composed YAML node tree."""
    line = None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if key_node.value == key:
                line = key_node.start_mark.line + 1
                node = value_node
                break
        else:
            break
    return line


@dataclass
class PipelineConfig:
    """A validated ``srl-data run`` config: ``data`` is the pydantic model, ``path`` the file."""

    data: Any
    path: str
    base: Path  # folder the file's relative paths are relative to
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def output_dir(self) -> Path:
        return _resolve(self.base, self.data.output_dir)

    @property
    def input(self) -> str:
        candidate = _resolve(self.base, self.data.input)
        return str(candidate) if candidate.exists() else self.data.input

    def as_dict(self) -> dict[str, Any]:
        """The config as the user gave it (with command-line overrides), for saving and the card."""
        return self.data.model_dump(mode="json", exclude_unset=True)


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def load_config(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Read and validate a pipeline YAML file; ``overrides`` (dotted keys) win over the file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config ({exc.strerror})", path=str(path),
                          hint="give the path of a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", path=str(path), hint="save the config as UTF-8") from None
    try:
        raw = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"is not valid YAML ({getattr(exc, 'problem', None) or exc})", path=str(path),
                          line=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise ConfigError("must hold a mapping of keys (input, output_dir, split_steps, ...)", path=str(path))
    raw = {k: ({} if v is None and k in ("split_steps", "hindsight", "generate", "push") else v)
           for k, v in raw.items()}
    for dotted, value in (overrides or {}).items():
        target = raw
        *parents, last = dotted.split(".")
        for key in parents:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[last] = value
    models = _models()
    try:
        data = models.root.model_validate(raw)
    except ValidationError as exc:
        # an unknown key says more than the missing keys it may have been meant as
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        loc = tuple(str(p) for p in first["loc"] if not str(p).startswith("function-"))
        # pydantic adds the union member's model name for optional sections: drop it.
        loc = tuple(p for p in loc if p not in models.sections or p == loc[0])
        key = ".".join(loc)
        line = _line_of(tree, loc)
        if first["type"] == "extra_forbidden":
            section = models.sections.get(loc[0]) if len(loc) > 1 else models.root
            known = sorted(section.model_fields) if section is not None else []
            raise ConfigError(f"unknown key '{key}'", path=str(path), line=line,
                              hint=f"known keys here: {', '.join(known)}") from None
        if first["type"] == "missing":
            raise ConfigError(f"missing key '{key}'", path=str(path), line=line,
                              hint="see examples/pipeline.yaml") from None
        raise ConfigError(f"'{key}': {first['msg']}", path=str(path), line=line) from None
    return PipelineConfig(data=data, path=str(path), base=file.resolve().parent, raw=raw)


# ---------------------------------------------------------------------------
# Fingerprints


def file_digest(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(stage: str, options: dict[str, Any], inputs: Iterable[str]) -> str:
    """A hash of what a stage's output depends on: its options, its input files'
    contents (a Hub id counts by name), the bundled prompt files and the srl-data version."""
    from .prompts import prompts_dir

    parts: dict[str, Any] = {"stage": stage, "version": __version__, "options": options, "inputs": {}}
    for item in inputs:
        parts["inputs"][item] = file_digest(item) if Path(item).is_file() else f"name:{item}"
    prompts = {p.name: file_digest(p) for p in sorted(prompts_dir().glob("*.toml"))}
    for value in options.values():  # a template given as a file
        if isinstance(value, str) and value.endswith(".toml") and Path(value).is_file():
            prompts[value] = file_digest(value)
    parts["prompts"] = prompts
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------
# Stages


@dataclass
class StageResult:
    name: str
    status: str  # ran | unchanged
    outputs: dict[str, str]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    config: PipelineConfig
    output_dir: Path
    force: bool = False
    outputs: dict[str, str] = field(default_factory=dict)  # what earlier stages made, by name
    on_stage: Callable[[str, str], None] | None = None


class Stage:
    """One step of the chain. Subclasses say when they run, what they read and
    write, and call one library function."""

    name: ClassVar[str]

    def enabled(self, ctx: RunContext) -> bool:
        return getattr(ctx.config.data, self.name) is not None

    def options(self, ctx: RunContext) -> dict[str, Any]:
        return getattr(ctx.config.data, self.name).model_dump(mode="json")

    def inputs(self, ctx: RunContext) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def outputs(self, ctx: RunContext) -> dict[str, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def execute(self, ctx: RunContext) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, ctx: RunContext) -> None:
        """Build the stage's option objects so a bad value fails before any stage runs."""
        try:
            self.build_options(ctx)
        except ConfigError as err:
            raise _config_error(self.name, ctx, err) from None

    def build_options(self, ctx: RunContext) -> Any:
        return None

    # -- bookkeeping shared by every stage -----------------------------------
    def marker(self, ctx: RunContext) -> str:
        """The output whose manifest holds the stage's fingerprint."""
        return next(iter(self.outputs(ctx).values()))

    def recorded(self, ctx: RunContext) -> str | None:
        manifest = read_manifest(self.marker(ctx)) or {}
        run = manifest.get("run")
        return run.get("fingerprint") if isinstance(run, dict) else None

    def record(self, ctx: RunContext, fp: str) -> None:
        run = {"stage": self.name, "fingerprint": fp, "config": ctx.config.as_dict(),
               "config_file": str(ctx.output_dir / SAVED_CONFIG)}
        for path in self.outputs(ctx).values():
            if Path(path).is_file():
                update_manifest(path, run=run)

    def run(self, ctx: RunContext) -> StageResult:
        outputs = self.outputs(ctx)
        fp = fingerprint(self.name, self._fingerprint_options(ctx), self.inputs(ctx))
        exists = all(Path(p).exists() for p in outputs.values())
        if not ctx.force and exists and self.recorded(ctx) == fp:
            if ctx.on_stage:
                ctx.on_stage(self.name, "unchanged")
            self.record(ctx, fp)  # the saved run config may have changed elsewhere
            ctx.outputs.update(outputs)
            return StageResult(self.name, "unchanged", outputs)
        if ctx.on_stage:
            ctx.on_stage(self.name, "running")
        try:
            summary = self.execute(ctx)
        except SrlDataError as err:
            if not err.message.startswith("section '"):
                err.message = f"stage {self.name}: {err.message}"
            raise
        self.record(ctx, fp)
        ctx.outputs.update(outputs)
        return StageResult(self.name, "ran", outputs, summary)

    def _fingerprint_options(self, ctx: RunContext) -> dict[str, Any]:
        data = ctx.config.data
        read = {k: getattr(data, k) for k in _read_keys()}
        return {"section": self.options(ctx), "read": read}


def _read_keys() -> list[str]:
    from .trajectories import ReadOptions

    return [f.name for f in dataclasses.fields(ReadOptions)]


def _config_error(stage: str, ctx: RunContext, err: ConfigError) -> ConfigError:
    return ConfigError(f"section '{stage}': {err.message}", path=ctx.config.path, hint=err.hint)


class GenerateStage(Stage):
    name = "generate"

    def inputs(self, ctx: RunContext) -> list[str]:
        return [ctx.config.input]

    def outputs(self, ctx: RunContext) -> dict[str, str]:
        return {"solutions": str(ctx.output_dir / ctx.config.data.generate.output)}

    def build_options(self, ctx: RunContext) -> Any:
        from .generate import GenerateConfig
        from .trajectories import ReadOptions

        data = ctx.config.data
        return GenerateConfig(
            input=ctx.config.input,
            output=self.outputs(ctx)["solutions"],
            read=ReadOptions(**{k: getattr(data, k) for k in _read_keys()}),
            **{k: v for k, v in _pick(data.generate.model_dump(), GenerateConfig).items() if k != "output"},
        )

    def execute(self, ctx: RunContext) -> dict[str, Any]:
        from .generate import generate

        try:
            config = self.build_options(ctx)
        except ConfigError as err:
            raise _config_error(self.name, ctx, err) from None
        summary = generate(config)
        if not summary.complete:
            from .errors import TeacherError

            raise TeacherError(
                f"{summary.errors} request(s) failed and {summary.not_sent} were not sent",
                path=config.failures_path, hint="run again to resume: answers already received are cached")
        return {"rows_written": summary.rows_written, "outcomes": dict(summary.outcomes)}


class SplitStepsStage(Stage):
    name = "split_steps"

    def enabled(self, ctx: RunContext) -> bool:
        return True

    def _source(self, ctx: RunContext) -> str:
        return ctx.outputs.get("solutions") or ctx.config.input

    def inputs(self, ctx: RunContext) -> list[str]:
        return [self._source(ctx)]

    def outputs(self, ctx: RunContext) -> dict[str, str]:
        section = ctx.config.data.split_steps
        return {"steps": str(ctx.output_dir / section.output),
                "trajectories": str(ctx.output_dir / section.trajectories_out),
                "rejects": str(ctx.output_dir / section.rejects)}

    def build_options(self, ctx: RunContext) -> Any:
        from .formats import get_format
        from .records import StepRecordOptions
        from .trajectories import SegmentOptions

        section = ctx.config.data.split_steps.model_dump()
        get_format(section["format"])
        return (SegmentOptions(**_pick(section, SegmentOptions)),
                StepRecordOptions(**_pick(section, StepRecordOptions, _RECORD_RENAME)))

    def execute(self, ctx: RunContext) -> dict[str, Any]:
        from .records import StepRecordOptions
        from .split_steps import SplitStepsConfig, split_steps
        from .trajectories import ReadOptions, SegmentOptions

        data = ctx.config.data
        section = data.split_steps.model_dump()
        outputs = self.outputs(ctx)
        # Teacher solutions have the default field names; the preset applies to the raw input.
        read = ReadOptions() if "solutions" in ctx.outputs else ReadOptions(
            **{k: getattr(data, k) for k in _read_keys()})
        try:
            config = SplitStepsConfig(
                input=self._source(ctx),
                output=outputs["steps"],
                read=read,
                segment=SegmentOptions(**_pick(section, SegmentOptions)),
                records=StepRecordOptions(**_pick(section, StepRecordOptions, _RECORD_RENAME)),
                format=section["format"],
                trajectories_out=outputs["trajectories"],
                rejects=outputs["rejects"],
            )
        except ConfigError as err:
            raise _config_error(self.name, ctx, err) from None
        return split_steps(config).to_dict()


class HindsightStage(Stage):
    name = "hindsight"

    def inputs(self, ctx: RunContext) -> list[str]:
        return [ctx.outputs["trajectories"]]

    def outputs(self, ctx: RunContext) -> dict[str, str]:
        section = ctx.config.data.hindsight
        outputs = {"hindsight": str(ctx.output_dir / section.output)}
        if section.rejects:
            outputs["hindsight_rejects"] = str(ctx.output_dir / section.rejects)
        return outputs

    def build_options(self, ctx: RunContext) -> Any:
        from .formats import get_hindsight_format
        from .hindsight import HindsightOptions

        section = ctx.config.data.hindsight.model_dump()
        get_hindsight_format(section["format"])
        return HindsightOptions(**_pick(section, HindsightOptions, _HINDSIGHT_RENAME))

    def execute(self, ctx: RunContext) -> dict[str, Any]:
        from .hindsight import HindsightConfig, HindsightOptions, hindsight

        section = ctx.config.data.hindsight.model_dump()
        outputs = self.outputs(ctx)
        try:
            config = HindsightConfig(
                input=ctx.outputs["trajectories"],
                output=outputs["hindsight"],
                options=HindsightOptions(**_pick(section, HindsightOptions, _HINDSIGHT_RENAME)),
                format=section["format"],
                rejects=outputs.get("hindsight_rejects"),
            )
        except ConfigError as err:
            raise _config_error(self.name, ctx, err) from None
        return hindsight(config).to_dict()


class PushStage(Stage):
    name = "push"

    def _sources(self, ctx: RunContext) -> list[str]:
        wanted = ctx.config.data.push.configs
        names = {"steps": "steps", "hindsight": "hindsight", "trajectories": "trajectories",
                 "solutions": "solutions"}
        sources = []
        for config in wanted:
            if config not in names:
                raise ConfigError(f"push.configs: unknown config '{config}'", path=ctx.config.path,
                                  hint=f"choose among: {', '.join(names)}")
            path = ctx.outputs.get(names[config])
            if path is None:
                raise ConfigError(f"push.configs names '{config}', but no stage made it", path=ctx.config.path,
                                  hint=f"add a '{config}' section, or drop it from push.configs")
            sources.append(f"{config}={path}")
        return sources

    def inputs(self, ctx: RunContext) -> list[str]:
        return [s.split("=", 1)[1] for s in self._sources(ctx)]

    def outputs(self, ctx: RunContext) -> dict[str, str]:
        return {"push_receipt": str(ctx.output_dir / PUSH_RECEIPT)}

    def recorded(self, ctx: RunContext) -> str | None:
        try:
            data = json.loads(Path(self.marker(ctx)).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("dry_run") and not Path(data.get("folder", "")).is_dir():
            return None
        return data.get("fingerprint")

    def record(self, ctx: RunContext, fp: str) -> None:  # the receipt is written by execute
        receipt = Path(self.marker(ctx))
        data = json.loads(receipt.read_text(encoding="utf-8"))
        data["fingerprint"] = fp
        receipt.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def build_options(self, ctx: RunContext) -> Any:
        from .publish import PushConfig

        section = ctx.config.data.push.model_dump()
        out = "hub" if section["dry_run"] else None
        for name in section["configs"]:
            if name not in ("steps", "hindsight", "trajectories", "solutions"):
                raise ConfigError(f"unknown config '{name}' in configs",
                                  hint="choose among: steps, hindsight, trajectories, solutions")
        return PushConfig(sources=("-",), dry_run=section["dry_run"], out=out,
                          **{k: v for k, v in _pick(section, PushConfig).items() if k not in ("dry_run", "out")})

    def execute(self, ctx: RunContext) -> dict[str, Any]:
        from .publish import PushConfig, push

        section = ctx.config.data.push.model_dump()
        out = _resolve(ctx.output_dir, section["out"]) if section["dry_run"] else None
        try:
            config = PushConfig(sources=tuple(self._sources(ctx)), dry_run=section["dry_run"],
                                out=str(out) if out else None,
                                **{k: v for k, v in _pick(section, PushConfig).items() if k not in ("dry_run", "out")})
        except ConfigError as err:
            raise _config_error(self.name, ctx, err) from None
        result = push(config)
        receipt = {"repo_id": result.repo_id, "dry_run": result.dry_run, "folder": result.folder,
                   "configs": {i.name: i.splits for i in result.configs}, "kept": result.kept,
                   "files": result.uploaded, "url": result.url}
        Path(self.marker(ctx)).write_text(json.dumps(receipt, indent=2) + "\n", encoding="utf-8")
        return receipt


# The chain, in order. Add a stage: one Stage subclass here.
STAGES: list[Stage] = [GenerateStage(), SplitStepsStage(), HindsightStage(), PushStage()]


@dataclass
class PipelineResult:
    output_dir: str
    config_file: str
    stages: list[StageResult]


def save_config(config: PipelineConfig, output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / SAVED_CONFIG
    from .manifest import scrub

    text = ("# The srl-data run config that made this folder (after command-line overrides).\n"
            + yaml.safe_dump(scrub(config.as_dict()), sort_keys=False, allow_unicode=True))
    target.write_text(text, encoding="utf-8")
    return target


# The config key that names each stage output (by its key in Stage.outputs).
_OUTPUT_KEYS = {"solutions": "output", "steps": "output", "trajectories": "trajectories_out", "rejects": "rejects",
                "hindsight": "output", "hindsight_rejects": "rejects"}


def _check_distinct_outputs(ctx: RunContext, stages: list[Stage]) -> None:
    """Two outputs of one name would overwrite each other (a later stage's rows
    replacing steps, or hindsight reading a file split-steps is rewriting)."""
    seen: dict[str, str] = {}
    for stage in stages:
        for what, output in stage.outputs(ctx).items():
            path = os.path.normpath(output)
            key = f"{stage.name}.{_OUTPUT_KEYS.get(what, what)}"
            if path in seen:
                shown = os.path.relpath(path, ctx.output_dir)
                raise ConfigError(f"{seen[path]} and {key} are the same file ({shown}): one stage would "
                                  "overwrite the other's output", path=ctx.config.path,
                                  hint="give each output its own name")
            seen[path] = key


def run_pipeline(config: PipelineConfig, *, force: bool = False,
                 on_stage: Callable[[str, str], None] | None = None) -> PipelineResult:
    """Run every configured stage in order, skipping those whose inputs and options are unchanged."""
    output_dir = config.output_dir
    try:
        saved = save_config(config, output_dir)
    except OSError as exc:
        raise ConfigError(f"output_dir cannot be written ({exc.strerror})", path=str(output_dir)) from None
    ctx = RunContext(config=config, output_dir=output_dir, force=force, on_stage=on_stage)
    stages = [stage for stage in STAGES if stage.enabled(ctx)]
    for stage in stages:
        stage.check(ctx)
    _check_distinct_outputs(ctx, stages)
    results = [stage.run(ctx) for stage in stages]
    return PipelineResult(output_dir=str(output_dir), config_file=str(saved), stages=results)
