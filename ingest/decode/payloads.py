"""Typed payload decoders built from the registry: validation in C for the fast path.

For each registered (event type, version), a msgspec Struct whose fields and constraints are the
version's `FieldRule`s, never looser: what such a decoder accepts, `registry.validate_payload`
accepts too (`tests/ingest/test_ingest_fastpath.py` checks it). Unknown payload fields are
forbidden here (the registry allows them): such payloads, and versions with a cross-field
`check`, take the generic route instead.

The decoder also tells whether the payload bytes are already the compact JSON bronze stores:
when re-encoding the decoded Struct gives back the very bytes received, those bytes are what
`envelope.to_json` would write, so they are stored as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import msgspec

from eventlake.countries import ISO_3166_ALPHA2
from eventlake.registry import REGISTRY, FieldRule

INT64_MAX = 2**63 - 1
# `validate_payload` bounds numbers at 1e300; a lower bound here keeps float rounding of huge
# integers out of the question (such payloads take the generic route)
_NUMBER_MAX = 1e299

TypedDecoder = Callable[[Any], Any]


def _int(minimum: float | None) -> Any:
    low = -INT64_MAX if minimum is None else max(-INT64_MAX, math.ceil(minimum))
    return Annotated[int, msgspec.Meta(ge=low, le=INT64_MAX)]


def _float(minimum: float | None) -> Any:
    low = -_NUMBER_MAX if minimum is None else float(minimum)
    return Annotated[float, msgspec.Meta(ge=low, le=_NUMBER_MAX)]


def _annotation(rule: FieldRule, owner: str) -> Any:
    """Returns the msgspec type of one field: the rule's JSON kind and bounds."""
    kind = rule.kind
    if kind == "str":
        return str
    if kind == "country":
        return Literal[tuple(sorted(ISO_3166_ALPHA2))]
    if kind == "currency":
        return Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}\Z")]
    if kind == "int":
        return _int(rule.minimum)
    if kind == "number":  # int or float as sent, so re-encoding keeps the literal's form
        return _int(rule.minimum) | _float(rule.minimum)
    if kind == "list":
        item = _struct(f"{owner}_{rule.name}_item", rule.items)
        return Annotated[list[item], msgspec.Meta(min_length=1)]  # type: ignore[valid-type]
    raise ValueError(f"no typed decoder for field kind {kind!r}")


def _struct(name: str, rules: tuple[FieldRule, ...]) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for rule in rules:  # the registry's order, which is the order producers usually send
        annotation = _annotation(rule, name)
        if rule.required:
            fields.append((rule.name, annotation))
        else:
            fields.append((rule.name, annotation | msgspec.UnsetType, msgspec.UNSET))
    return msgspec.defstruct(name, fields, forbid_unknown_fields=True, gc=False)


def _decoders() -> dict[str, dict[int, TypedDecoder]]:
    found: dict[str, dict[int, TypedDecoder]] = {}
    for event_type in REGISTRY.values():
        for version, spec in event_type.versions.items():
            if spec.check is None:
                struct = _struct(f"{event_type.name}_v{version}", spec.fields)
                found.setdefault(event_type.name, {})[version] = msgspec.json.Decoder(struct).decode
    return found


DECODERS: Mapping[str, Mapping[int, TypedDecoder]] = _decoders()
"""event type -> version -> typed decoder (absent: the generic route)."""
TYPED: Mapping[tuple[str, int], TypedDecoder] = {
    (name, v): decode for name, versions in DECODERS.items() for v, decode in versions.items()
}
"""(event type, version) -> typed decoder."""
