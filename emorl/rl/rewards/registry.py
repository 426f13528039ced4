"""The reward registry: rewards by name, with weights, options and the context each one needs.

A reward is a function ``fn(predictions, references, **context) -> list[float]``, one value per
prediction. Its keyword parameters other than context keys are its *options*::

    @register_reward("exact", needs=("utts",))
    def exact(predictions, references, *, ignore_case=False, **context):
        ...

A reward that must load something once (an embedding model, a wheel file, a similarity matrix)
registers a *factory* instead: ``factory(**options) -> reward function``, called once per
:func:`build_rewards`::

    @register_reward_factory("embedding_similarity", needs=())
    def embedding_similarity(model_path, batch_size=32):
        model = load(model_path)
        return lambda predictions, references, **context: ...

A reward spec weights rewards by name and gives their options, in one of three forms::

    "self_max_prob=1,teacher_prob=0.5"                        # command line: weights only
    {"self_max_prob": 1, "teacher_prob": 0.5}                 # yaml: weights only
    {"esr": {"weight": 1, "matrix": "conf/sim.npy"}}          # yaml: weight and options

(a command-line string that starts with ``{`` is read as a yaml mapping, so options can be
given there too). :func:`build_rewards` turns a spec into a :class:`RewardSet`, which computes the
weighted sum. Context keys that a reward declares in ``needs`` must be present (not None) when the
set is called, so that a trainer computes an expensive context (a teacher's posteriors) only when
``key in reward_set.needs``.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import yaml

RewardFn = Callable[..., Sequence[float]]
RewardFactory = Callable[..., RewardFn]

#: Parameters of a reward function that are not options.
_CALL_ARGS = ("predictions", "references", "utts")


class RewardError(ValueError):
    """A reward is unknown, misconfigured, lacks its context, or returned a bad value."""


@dataclass(frozen=True)
class _Registered:
    name: str
    target: Callable  # the reward function, or its factory
    is_factory: bool
    needs: tuple[str, ...]
    options: frozenset[str] | None  # None: any option (a factory taking **kwargs)
    required: frozenset[str]


_REGISTRY: dict[str, _Registered] = {}


def _check_needs(name: str, needs: Iterable[str]) -> tuple[str, ...]:
    if isinstance(needs, str):
        raise RewardError(f"reward {name!r}: needs must be a tuple of context keys, got {needs!r}")
    return tuple(needs)


def _register(name: str, target: Callable, is_factory: bool, needs: tuple[str, ...]) -> None:
    if name in _REGISTRY:
        raise RewardError(f"reward {name!r} is already registered")
    params = list(inspect.signature(target).parameters.values())
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params)
    named = [p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if is_factory:
        options = None if var_keyword else frozenset(p.name for p in named)
    else:
        if not var_keyword or len(named) < 2:
            raise RewardError(
                f"reward {name!r}: a reward function takes (predictions, references, **context)"
            )
        skip = set(_CALL_ARGS) | set(needs)
        named = [p for p in named[2:] if p.name not in skip]
        options = frozenset(p.name for p in named)
    required = frozenset(p.name for p in named if p.default is p.empty)
    _REGISTRY[name] = _Registered(name, target, is_factory, needs, options, required)


def register_reward(name: str, needs: Iterable[str] = ()) -> Callable[[RewardFn], RewardFn]:
    """Decorator registering ``fn(predictions, references, **context)`` as the reward ``name``.

    ``needs``: the context keys the reward reads (checked at every call of a :class:`RewardSet`).
    Keyword parameters of ``fn`` other than those keys are the reward's options.
    """
    needs = _check_needs(name, needs)

    def decorator(fn: RewardFn) -> RewardFn:
        _register(name, fn, False, needs)
        return fn

    return decorator


def register_reward_factory(
    name: str, needs: Iterable[str] = ()
) -> Callable[[RewardFactory], RewardFactory]:
    """Decorator registering ``factory(**options) -> reward function`` as the reward ``name``.

    The factory's parameters are the reward's options (any option when it takes ``**kwargs``); it
    is called once per :func:`build_rewards`, so it is the place to load models or files.
    """
    needs = _check_needs(name, needs)

    def decorator(factory: RewardFactory) -> RewardFactory:
        _register(name, factory, True, needs)
        return factory

    return decorator


def reward_names() -> list[str]:
    """All registered reward names, sorted."""
    return sorted(_REGISTRY)


def _registered(name: str) -> _Registered:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise RewardError(f"unknown reward {name!r}; registered: {reward_names()}") from None


def _check_options(entry: _Registered, options: dict) -> None:
    if entry.options is not None:
        unknown = sorted(set(options) - entry.options)
        if unknown:
            known = sorted(entry.options) or "none"
            raise RewardError(
                f"reward {entry.name!r} has no option {unknown[0]!r}; its options: {known}"
            )
    missing = sorted(entry.required - set(options))
    if missing:
        raise RewardError(f"reward {entry.name!r} needs the option {missing[0]!r}")


def get_reward(name: str, **options) -> RewardFn:
    """The reward ``name`` as a function of ``(predictions, references, **context)``.

    Options are checked against the reward's signature and bound; a factory is called with them.
    """
    entry = _registered(name)
    _check_options(entry, options)
    if entry.is_factory:
        return entry.target(**options)
    return functools.partial(entry.target, **options) if options else entry.target


def _weight(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RewardError(f"reward {name!r}: weight {value!r} is not a finite number")
    return float(value)


def parse_reward_spec(spec: str | dict) -> dict[str, dict]:
    """A reward spec -> checked ``{name: {"weight": w, **options}}`` (see the module docstring).

    Stops on an unknown reward, a missing or non-numeric weight, and an option that the reward's
    function or factory does not take (naming the reward and the option).
    """
    if isinstance(spec, str) and spec.strip().startswith("{"):
        try:
            spec = yaml.safe_load(spec)
        except yaml.YAMLError as e:
            raise RewardError(f"reward spec {spec!r} is not a yaml mapping: {e}") from None
    elif isinstance(spec, str):
        items = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, weight = part.partition("=")
            if not sep:
                raise RewardError(f"reward spec {spec!r}: expected name=weight, got {part!r}")
            try:
                items[name.strip()] = float(weight)
            except ValueError:
                raise RewardError(
                    f"reward spec {spec!r}: weight of {name.strip()!r} is not a number"
                ) from None
        spec = items
    if not isinstance(spec, dict) or not spec:
        raise RewardError(f"reward spec {spec!r}: expected a non-empty mapping of name to weight")
    parsed = {}
    for name, value in spec.items():
        entry = _registered(name)
        if isinstance(value, dict):
            options = dict(value)
            if "weight" not in options:
                raise RewardError(f"reward {name!r}: give its weight ({name}: {{weight: 1, ...}})")
            weight = _weight(name, options.pop("weight"))
        else:
            weight, options = _weight(name, value), {}
        _check_options(entry, options)
        parsed[name] = {"weight": weight, **options}
    return parsed


@dataclass(frozen=True)
class _Built:
    fn: RewardFn
    weight: float
    needs: tuple[str, ...]
    options: tuple[str, ...]  # names bound to a plain function (they must not be context keys)


class RewardSet:
    """Weighted rewards built from a spec; call it to score a batch of predictions."""

    def __init__(self, rewards: dict[str, _Built], spec: dict[str, dict]):
        self._rewards = rewards
        self.spec = spec  #: the parsed spec ``{name: {"weight": w, **options}}``, to record

    @property
    def names(self) -> list[str]:
        """The rewards' names, in the spec's order."""
        return list(self._rewards)

    @property
    def weights(self) -> dict[str, float]:
        """``{name: weight}``."""
        return {name: r.weight for name, r in self._rewards.items()}

    @property
    def needs(self) -> frozenset[str]:
        """The context keys that the rewards read (the union of their ``needs``)."""
        return frozenset(key for r in self._rewards.values() for key in r.needs)

    def __call__(
        self,
        predictions: Sequence,
        references: Sequence | None = None,
        utts: Sequence[str] | None = None,
        **context,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Weighted sum of the rewards: ``(total [N], {name: values [N]})`` (float64, unweighted).

        Stops naming the reward when a context key it needs is missing or None, when it gives the
        wrong number of values, and (naming the utterance too) when a value is NaN or Inf.
        """
        n = len(predictions)
        if utts is not None and len(utts) != n:
            raise RewardError(f"{len(utts)} utterance ids for {n} predictions")
        given = dict(context, utts=utts)
        total = np.zeros(n)
        parts = {}
        for name, reward in self._rewards.items():
            for key in reward.needs:
                if given.get(key) is None:
                    raise RewardError(f"reward {name!r} needs {key!r} in its context")
            clash = sorted(set(reward.options) & set(context))
            if clash:
                raise RewardError(f"reward {name!r}: option {clash[0]!r} is also a context key")
            values = np.asarray(reward.fn(predictions, references, utts=utts, **context), float)
            if values.shape != (n,):
                raise RewardError(f"reward {name!r} gave {values.shape} values for {n} predictions")
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                where = utts[bad[0]] if utts is not None else f"prediction {bad[0]}"
                raise RewardError(f"reward {name!r} is {values[bad[0]]} for utterance {where}")
            parts[name] = values
            total += reward.weight * values
        return total, parts


def build_rewards(spec: str | dict) -> RewardSet:
    """The :class:`RewardSet` of a spec (any form :func:`parse_reward_spec` takes).

    Each factory is called once, with its options.
    """
    built = {}
    spec = parse_reward_spec(spec)
    for name, entry in spec.items():
        options = {k: v for k, v in entry.items() if k != "weight"}
        registered = _registered(name)
        bound = () if registered.is_factory else tuple(options)
        built[name] = _Built(get_reward(name, **options), entry["weight"], registered.needs, bound)
    return RewardSet(built, spec)


def combine_rewards(
    spec: str | dict,
    predictions: Sequence,
    references: Sequence | None = None,
    utts: Sequence[str] | None = None,
    **context,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``build_rewards(spec)(predictions, references, utts=utts, **context)`` in one call.

    It builds the set at every call: a loop should build it once with :func:`build_rewards`.
    """
    return build_rewards(spec)(predictions, references, utts=utts, **context)
