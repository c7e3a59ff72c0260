"""The dcs-v2 document as statsig-python-core's protobuf spec stream
(docs/sdk.md §Protobuf specs).

The stream is a run of length-delimited ``SpecsEnvelope`` messages: one top-level envelope,
one per spec, condition and parameter store (each named, with a checksum, and its data unless
the SDK already holds that checksum), optionally ``CopyPrev`` first and ``Deletions`` last, and
``Done``. This module writes the messages (field numbers of the SDK's ``statsig_config_specs``
schema) with the standard library; the route compresses the stream.

A document that uses a condition type or operator the schema has no number for cannot be
written: ``Unencodable`` tells the caller to answer JSON instead.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from typing import Any

# SpecsEnvelopeKind
DONE, TOP_LEVEL, FEATURE_GATE, DYNAMIC_CONFIG, LAYER_CONFIG = 1, 2, 3, 4, 5
PARAM_STORE, CONDITION, DELETIONS, COPY_PREV = 6, 7, 8, 10

ENTITY_TYPES = {
    "feature_gate": 1,
    "dynamic_config": 2,
    "autotune": 3,
    "experiment": 4,
    "layer": 5,
    "segment": 6,
    "holdout": 7,
}
CONDITION_TYPES = {
    "public": 1,
    "fail_gate": 2,
    "pass_gate": 3,
    "ua_based": 4,
    "ip_based": 5,
    "user_field": 6,
    "environment_field": 7,
    "current_time": 8,
    "user_bucket": 9,
    "target_app": 10,
    "unit_id": 11,
}
_OPERATOR_NAMES = (
    "gt gte lt lte version_gt version_gte version_lt version_lte version_eq version_neq any none"
    " str_starts_with_any str_ends_with_any str_contains_any str_contains_none any_case_sensitive"
    " none_case_sensitive str_matches before after on eq neq in_segment_list not_in_segment_list"
    " array_contains_any array_contains_none array_contains_all not_array_contains_all encoded_any"
)
OPERATORS = {name: number for number, name in enumerate(_OPERATOR_NAMES.split(), start=1)}
KNOWN_ID_TYPES = {"userID": 1, "stableID": 2}
# The sections of the document sent as spec envelopes, and their envelope kinds.
SPEC_KINDS = {
    "feature_gates": FEATURE_GATE,
    "dynamic_configs": DYNAMIC_CONFIG,
    "layer_configs": LAYER_CONFIG,
}
# The fields of the top-level envelope's ``rest``: what the SDK merges from it.
REST_FIELDS = (
    "app_id",
    "default_environment",
    "diagnostics",
    "experiment_to_layer",
    "hashed_sdk_keys_to_app_ids",
    "id_lists",
    "sdk_configs",
    "sdk_flags",
)


class Unencodable(ValueError):
    """The document uses something the protobuf schema cannot carry."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _int(number: int, value: int) -> bytes:
    return _key(number, 0) + _varint(value)


def _bool(number: int, value: bool) -> bytes:
    return _int(number, 1 if value else 0)


def _bytes(number: int, value: bytes) -> bytes:
    return _key(number, 2) + _varint(len(value)) + value


def _str(number: int, value: str) -> bytes:
    return _bytes(number, value.encode("utf-8"))


def _double(number: int, value: float) -> bytes:
    return _key(number, 1) + struct.pack("<d", value)


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def checksum(text: bytes) -> str:
    """An entry's checksum: 32 bits of its SHA-256, in decimal (the SDK sums them as u32)."""
    return str(int.from_bytes(hashlib.sha256(text).digest()[:4], "big"))


def _id_type(value: object) -> bytes:
    if not isinstance(value, str) or not value:
        return b""
    known = KNOWN_ID_TYPES.get(value)
    return _int(1, known) if known is not None else _str(2, value)


def _return_value(value: object) -> bytes:
    return _bool(1, value) if isinstance(value, bool) else _bytes(2, _json(value))


def rule(rule: Mapping[str, Any]) -> bytes:
    percentage = float(rule.get("passPercentage") or 0)
    out = [_str(1, str(rule.get("name") or "")), _int(2, int(percentage))]
    out.append(_str(3, str(rule.get("id") or "")))
    if isinstance(rule.get("salt"), str):
        out.append(_str(4, rule["salt"]))
    out += [_str(5, str(condition)) for condition in rule.get("conditions") or ()]
    out.append(_bytes(6, _id_type(rule.get("idType"))))
    if "returnValue" in rule:
        out.append(_bytes(7, _return_value(rule["returnValue"])))
    if isinstance(rule.get("groupName"), str):
        out.append(_str(8, rule["groupName"]))
    if isinstance(rule.get("configDelegate"), str):
        out.append(_str(9, rule["configDelegate"]))
    if isinstance(rule.get("isExperimentGroup"), bool):
        out.append(_bool(10, rule["isExperimentGroup"]))
    out.append(_double(13, percentage))
    return b"".join(out)


def spec(spec: Mapping[str, Any]) -> bytes:
    entity = ENTITY_TYPES.get(str(spec.get("entity")))
    if entity is None:
        raise Unencodable(f"entity {spec.get('entity')!r}")
    out = [_str(1, str(spec.get("salt") or "")), _bool(2, bool(spec.get("enabled")))]
    out.append(_bytes(3, _return_value(spec.get("defaultValue"))))
    out.append(_int(4, entity))
    out.append(_bytes(5, _id_type(spec.get("idType"))))
    out.append(_int(6, int(spec.get("version") or 0)))
    out += [_bytes(7, rule(r)) for r in spec.get("rules") or ()]
    if isinstance(spec.get("isActive"), bool):
        out.append(_bool(8, spec["isActive"]))
    out += [_str(9, str(p)) for p in spec.get("explicitParameters") or ()]
    if isinstance(spec.get("hasSharedParams"), bool):
        out.append(_bool(10, spec["hasSharedParams"]))
    out += [_str(11, str(app)) for app in spec.get("targetAppIDs") or ()]
    return b"".join(out)


def condition(condition: Mapping[str, Any]) -> bytes:
    kind = CONDITION_TYPES.get(str(condition.get("type")))
    if kind is None:
        raise Unencodable(f"condition type {condition.get('type')!r}")
    out = [_int(1, kind), _bytes(2, _id_type(condition.get("idType")))]
    target = condition.get("targetValue")
    if target is not None:
        out.append(_bytes(3, _bytes(6, _json(target))))
    operator = condition.get("operator")
    if operator is not None:
        number = OPERATORS.get(str(operator))
        if number is None:
            raise Unencodable(f"operator {operator!r}")
        out.append(_int(4, number))
    if isinstance(condition.get("field"), str):
        out.append(_str(5, condition["field"]))
    additional = condition.get("additionalValues")
    if additional is not None:
        out.append(_bytes(6, _json(additional)))
    return b"".join(out)


def envelope(kind: int, name: str = "", sum_: str = "", data: bytes | None = None) -> bytes:
    """One length-delimited ``SpecsEnvelope``."""
    body = _int(1, kind)
    if name:
        body += _str(2, name)
    if sum_:
        body += _str(3, sum_)
    if data is not None:
        body += _bytes(4, data)
    return _varint(len(body)) + body


def top_level(document: Mapping[str, Any], document_checksum: str) -> bytes:
    rest = {name: document[name] for name in REST_FIELDS if name in document}
    data = b"".join(
        [
            _bool(1, bool(document.get("has_updates", True))),
            _int(2, int(document.get("time") or 0)),
            _str(3, str(document.get("company_id") or "")),
            _str(4, str(document.get("response_format") or "dcs-v2")),
            _str(5, document_checksum),
            _bytes(7, _json(rest)),
        ]
    )
    return envelope(TOP_LEVEL, data=data)


def deletions(removed: Mapping[str, list[str]]) -> bytes:
    """A ``RulesetsResponseDeletions`` envelope for the entries named in ``removed``."""
    numbers = {
        "dynamic_configs": 1,
        "feature_gates": 2,
        "layer_configs": 3,
        "experiment_to_layer": 4,
        "condition_map": 5,
        "param_stores": 7,
    }
    data = b"".join(
        _str(numbers[section], name)
        for section, names in removed.items()
        for name in names
        if section in numbers
    )
    return envelope(DELETIONS, data=data)


def entry_data(document: Mapping[str, Any], section: str, name: str) -> bytes:
    """The envelope data of one entry."""
    value = document[section][name]
    if section in SPEC_KINDS:
        return spec(value)
    if section == "condition_map":
        return condition(value)
    return _json(value)
