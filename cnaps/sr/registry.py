"""A registry per kind of model part: a dict, a `register(name)` decorator and `make(spec)` that
builds from a validated `{name, args}` spec (the same spec the released checkpoints carry)."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel, ConfigDict

from cnaps.errors import CheckpointError

_REGISTRY: dict[str, Callable[..., Any]] = {}


class ModelSpec(BaseModel):
    """`{'name': ..., 'args': {...}}` as stored in checkpoints."""

    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any] = {}


def register(name: str):
    def decorator(builder):
        if name in _REGISTRY:
            raise ValueError(f"model part {name!r} registered twice")
        _REGISTRY[name] = builder
        return builder

    return decorator


def names() -> list[str]:
    return sorted(_REGISTRY)


def make(spec: ModelSpec | dict, **override: Any):
    """Build the module a spec names; unknown names are an error, never a silent fallback."""
    from cnaps.sr import encoders, liif  # noqa: F401  (importing registers the builders)

    spec = spec if isinstance(spec, ModelSpec) else ModelSpec.model_validate(spec)
    if spec.name not in _REGISTRY:
        raise CheckpointError(
            f"unknown model part {spec.name!r}; known: {', '.join(names())}"
        )
    try:
        return _REGISTRY[spec.name](**{**spec.args, **override})
    except TypeError as exc:
        raise CheckpointError(f"bad arguments for {spec.name!r}: {exc}") from None
