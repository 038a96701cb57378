"""The YAML run configuration: one declarative file drives every stage of the loop.

Validated with pydantic; unknown keys and bad values are rejected with a message naming the key.
Relative paths are resolved against the config file's folder, so a config and its data travel
together (the demo config ships inside the package beside its data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from instructmining.data.readers import ReadLimits
from instructmining.errors import UserError
from instructmining.paths import require_file
from instructmining.sampling.selections import DEFAULT_MAX_OVERLAP, DEFAULT_RANDOM_SHARE


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML's `true` is not the number 1: a boolean only where the setting is a switch."""
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if annotation is not bool and bool not in get_args(annotation):
                raise ValueError(f"expected a {_kind(annotation)}, not the boolean {value}")
        return value


def _kind(annotation: Any) -> str:
    text = str(annotation)
    return "number" if "int" in text or "float" in text else "value of another type"


def _known_format(name: str) -> str:
    """Unknown format names fail when the config loads, not at the pool stage."""
    from instructmining.data.formats import get_format

    if name != "auto":
        try:
            get_format(name)
        except UserError as exc:
            raise ValueError(str(exc)) from exc
    return name


def _one_of(registry: Callable[[], Iterable[str]]) -> AfterValidator:
    """Accept a name its registry knows; the registry is imported only when a value is checked,
    so reading a config stays light while the allowed values have one source."""

    def check(value: str) -> str:
        allowed = list(registry())
        if value not in allowed:
            quoted = [repr(a) for a in allowed]
            expected = (
                ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
            )
            raise PydanticCustomError(
                "literal_error", "Input should be {expected}", {"expected": expected}
            )
        return value

    return AfterValidator(check)


def _presets() -> Iterable[str]:
    from instructmining.experiments.config import PRESETS

    return PRESETS


def _criteria() -> Iterable[str]:
    from instructmining.rule.combos import CRITERIA

    return CRITERIA


def _models() -> Iterable[str]:
    from instructmining.rule.learners import MODELS

    return MODELS


def _baselines() -> Iterable[str]:
    """Selectors a comparison may add: every one but the rule and random, which always run, and
    `rule-top`, the rule's unconstrained top n."""
    from instructmining.selection.selectors import COMPARE_BASELINES

    return COMPARE_BASELINES


Preset = Annotated[str, _one_of(_presets)]
Criterion = Annotated[str, _one_of(_criteria)]
Model = Annotated[str, _one_of(_models)]
Baseline = Annotated[str, _one_of(_baselines)]


def default_of(section: type[BaseModel], name: str) -> Any:
    """A setting's default, for the CLI option of the same setting (one source for both)."""
    return section.model_fields[name].get_default(call_default_factory=True)


class PoolFile(_Strict):
    """One input file (or an MT-Bench question+answer pair) with its format and source name."""

    path: str | list[str]
    format: str = "auto"
    source: str | None = None

    _format = field_validator("format")(_known_format)


class PoolConfig(_Strict):
    files: list[PoolFile] = Field(min_length=1)
    on_error: Literal["fail", "skip"] = "fail"
    per_source: PositiveInt | None = Field(
        None, description="keep at most this many examples per source (a seeded sample by id)"
    )
    seed: NonNegativeInt = 0
    max_file_mb: PositiveInt = Field(
        ReadLimits.max_file_mb, description="largest file, MiB once decompressed"
    )
    max_record_mb: PositiveInt = Field(ReadLimits.max_record_mb, description="largest record, MiB")


class IndicatorsConfig(_Strict):
    names: list[str] = Field(default_factory=lambda: ["length", "mtld", "ppl", "ifd", "knn"])
    lm: str = "smollm2-135m-instruct"
    embedder: str = "all-minilm-l6-v2"
    reward_model: str | None = None
    unieval_model: str | None = None
    judge_model: str | None = None
    k: PositiveInt = 6
    max_length: int | None = Field(
        None, ge=16, description="tokens per example for model indicators (default: by device)"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: PositiveInt | None = None

    @field_validator("names")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        """Unknown names fail when the config loads, not after earlier stages have run."""
        from instructmining.indicators import parse_names

        try:
            return parse_names(names)
        except UserError as exc:
            raise ValueError(str(exc)) from exc


class SamplingConfig(_Strict):
    subsets: PositiveInt = 24
    size: PositiveInt = 64
    alpha: float = Field(0.5, gt=0, allow_inf_nan=False)
    seed: NonNegativeInt = 0
    sources: list[str] | None = None
    design: Literal["dirichlet", "spread", "d-optimal", "selections"] = "dirichlet"
    columns: list[str] | None = Field(None, description="design columns (default all numeric)")
    temperature: float = Field(1.0, ge=0)
    mix_sources: bool = False
    candidates: PositiveInt | None = None
    random_share: float = Field(
        DEFAULT_RANDOM_SHARE, gt=0, lt=1, description="selections: share of random subsets"
    )
    max_overlap: float = Field(
        DEFAULT_MAX_OVERLAP, gt=0, lt=1, description="selections: largest Jaccard overlap"
    )
    rounds: PositiveInt = Field(
        1, description="design rounds: add, run and refit until CV R² stalls"
    )
    add: PositiveInt = Field(8, description="subsets added per design round")
    criterion: Literal["d", "i"] = "d"
    max_runs: PositiveInt | None = Field(None, description="stop the rounds at this many runs")

    def design_settings(self) -> dict[str, Any]:
        """The settings that decide the first design (the round settings do not, nor do the
        selections settings for another design, so adding them kept older workspaces' hashes)."""
        rounds = {"rounds", "add", "criterion", "max_runs"}
        if self.design != "selections":
            rounds |= {"random_share", "max_overlap"}
        return self.model_dump(exclude=rounds)


class EvalSet(_Strict):
    path: str | list[str]
    format: str = "auto"
    limit: PositiveInt | None = Field(None, description="use the first N items by id")
    name: str = Field(
        "test",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="a test set's name: its losses are test_loss__NAME, its target NAME",
    )
    holdout: float | None = Field(
        None, gt=0, lt=1, description="share of the items held out from the fit (seeded)"
    )
    holdout_seed: int = 0

    _format = field_validator("format")(_known_format)


class ExperimentsConfig(_Strict):
    eval: EvalSet
    # One test set (named by its `name`, "test" by default) or several by name; compare
    # reports every one.
    test_eval: EvalSet | dict[str, EvalSet] | None = None
    preset: Preset = "cpu-small"
    overrides: dict[str, Any] = Field(default_factory=dict)
    seeds: list[NonNegativeInt] = Field(default_factory=lambda: [0])
    noise_subsets: int = Field(
        2, ge=0, description="subsets repeated with extra training seeds to measure seed noise"
    )
    noise_seeds: list[NonNegativeInt] = Field(default_factory=lambda: [1, 2])

    @model_validator(mode="after")
    def _valid_overrides(self) -> ExperimentsConfig:
        """The fine-tuning settings are checked when the config loads, not at stage 4."""
        from instructmining.experiments.config import check_overrides

        check_overrides(self.preset, self.overrides)
        return self


class FitConfig(_Strict):
    criterion: Criterion = "cv"
    model: Model = "ols"
    max_indicators: PositiveInt = 3
    folds: PositiveInt = 5
    target: str = Field(
        "fit",
        description="fit, a test set's name, mean (of the sets' standardised log losses) or "
        "auto (mean where two sets disagree, else fit)",
    )
    weights: dict[str, float] | None = Field(None, description="weights of a mean target")
    permutations: int = Field(200, ge=0, description="permutation test of CV R² (0: off)")


class SelectConfig(_Strict):
    """The rule's top n, narrowed in the order where -> dedup -> rank -> diversity -> top n
    (selection/filters.py, whose SelectFilters has the same defaults)."""

    top: PositiveInt | None = None
    fraction: float | None = Field(None, gt=0, le=1)
    where: str | None = Field(
        None, description="condition on indicator columns and source, e.g. 'ifd < 1'"
    )
    dedup: Literal["exact", "minhash"] | None = Field(
        None, description="drop duplicates inside the pool, keeping the best-ranked copy"
    )
    dedup_threshold: float = Field(0.8, gt=0, le=1, description="MinHash Jaccard similarity")
    diversity: bool = Field(False, description="DEITA's score-first distance-threshold walk")
    diversity_threshold: float = Field(0.1, ge=0, lt=2, description="cosine distance")
    extrapolate: bool = Field(
        False, description="the rule's own top n even outside the tested subsets (labelled so)"
    )

    @field_validator("where")
    @classmethod
    def _parsed(cls, value: str | None) -> str | None:
        """A condition that cannot be parsed fails when the config loads."""
        if value is not None:
            from instructmining.selection.where import parse_where

            try:
                parse_where(value)
            except UserError as exc:
                raise ValueError(str(exc)) from exc
        return value

    def filters(self) -> Any:
        """The SelectFilters of this section."""
        from instructmining.selection.filters import SelectFilters

        return SelectFilters(
            self.where, self.dedup, self.dedup_threshold, self.diversity, self.diversity_threshold
        )


class RefineConfig(_Strict):
    rounds: PositiveInt = Field(description="refine rounds in all (docs/selection.md)")
    n: PositiveInt = Field(description="examples per selection")


class SearchConfig(_Strict):
    min: PositiveInt
    max: PositiveInt
    trials: PositiveInt = 10
    seed: int = Field(0, description="seed of the search and of its fine-tunes")
    time_budget: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> SearchConfig:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class CompareConfig(_Strict):
    n: PositiveInt
    seeds: int = Field(5, ge=2, description="seeds 0..S-1; two or more measure the noise")
    baselines: list[Baseline] = Field(
        default_factory=list, description="selectors besides the rule and random (always run)"
    )


class OverlapConfig(_Strict):
    """Pool examples that duplicate evaluation items (exact or MinHash near duplicates)."""

    drop: bool = True
    threshold: float = Field(0.8, gt=0, le=1, description="MinHash Jaccard threshold")


class RunConfig(_Strict):
    """The whole loop; optional sections are skipped when absent."""

    workspace: str = "workspace"
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(None, description="a Ray cluster (default: $RAY_ADDRESS)")
    pool: PoolConfig
    indicators: IndicatorsConfig = Field(default_factory=IndicatorsConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    experiments: ExperimentsConfig
    fit: FitConfig = Field(default_factory=FitConfig)
    refine: RefineConfig | None = None
    select: SelectConfig | None = None
    search: SearchConfig | None = None
    compare: CompareConfig | None = None
    overlap: OverlapConfig = Field(default_factory=OverlapConfig)
    report: bool = True

    @field_validator("workspace")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


def _describe(error: dict[str, Any]) -> str:
    # A union's member (`EvalSet`, `dict[str,EvalSet]`) is no key of the YAML: leave it out.
    parts = [str(p) for p in error["loc"] if not (isinstance(p, str) and p[:1].isupper())]
    parts = [p for p in parts if not p.startswith("dict[")]
    key = ".".join(parts) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"unknown key {key!r}"
    message = error["msg"].removeprefix("Value error, ")
    # A validator of a section may name a key below it: `experiments` + `overrides.lr: ...`.
    return f"{key}.{message}" if message.startswith("overrides.") else f"{key}: {message}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> tuple[RunConfig, Path]:
    """Read and validate a YAML config; returns it with the folder its relative paths start from."""
    path = require_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{path}{line}: {problem}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of settings at the top level")
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{path}: {_describe(exc.errors()[0])}") from exc
    return config, path.resolve().parent
