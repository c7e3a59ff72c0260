"""The protobuf spec stream (docs/sdk.md §Protobuf specs): what it carries for an SDK that holds
nothing, a known document, or a known document with deltas, and when it is not written."""

from __future__ import annotations

from typing import Any

import brotli
import pytest

from lockgate.cores.compiler import proto
from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.snapshot import ProjectSnapshot
from lockgate.documents.specs import ConfigSpecsV2
from lockgate.domains.specs.cache import Rendered
from lockgate.domains.specs.render import Encoder
from tests.compat.proto_stream import envelopes

pytestmark = pytest.mark.database_free


def _gate(gate_id: str, pct: float) -> dict[str, Any]:
    condition = {"type": "public", "operator": None, "targetValue": None, "field": None}
    rule = {
        "id": f"{gate_id}_rule",
        "baseID": f"{gate_id}_rule",
        "salt": "s",
        "passPercentage": pct,
        "conditions": [condition],
    }
    return {"id": gate_id, "idType": "userID", "isEnabled": True, "rules": [rule], "version": 1}


def _document(*gates: dict[str, Any]) -> ConfigSpecsV2:
    kinds: dict[str, Any] = {"gates": gates}
    return compile_v2(ProjectSnapshot(project_id="p", company_id="c", time_ms=1, **kinds))


def _rendered(document: ConfigSpecsV2, encoder: Encoder) -> Rendered:
    return Rendered("p", 1, 1, document, dict, encoder)


def _stream(rendered: Rendered, since: str | None, *, deltas: bool) -> list[tuple[int, str, bool]]:
    body = rendered.proto_bytes(since, deltas=deltas)
    assert body is not None
    return envelopes(brotli.decompress(body))


def test_proto_stream__known_document__held_specs_as_checksums_and_deltas_carry_the_change() -> (
    None
):
    # Given an SDK that received the stream of a two-gate document
    encoder = Encoder()
    before = _rendered(_document(_gate("a", 10), _gate("b", 20)), encoder)
    first = _stream(before, None, deltas=True)
    assert first[0][0] == proto.TOP_LEVEL
    assert {name for kind, name, data in first if kind == proto.FEATURE_GATE and data} == {"a", "b"}
    # When gate b changes and gate a is deleted, and the SDK names what it holds
    after = _rendered(_document(_gate("b", 30)), encoder)
    held = _stream(after, before.checksum, deltas=False)
    delta = _stream(after, before.checksum, deltas=True)
    unknown = _stream(after, "not-a-checksum", deltas=True)
    # Then without deltas every spec comes, the held ones (none here) as checksums alone
    assert [(k, n, d) for k, n, d in held if k == proto.FEATURE_GATE] == [
        (proto.FEATURE_GATE, "b", True)
    ]
    # With deltas: CopyPrev, the top level, the changed gate, the deletions, Done
    kinds = [kind for kind, _, _ in delta]
    assert kinds[:2] == [proto.COPY_PREV, proto.TOP_LEVEL]
    assert kinds[-2:] == [proto.DELETIONS, proto.DONE]
    assert {name for kind, name, data in delta if kind == proto.FEATURE_GATE and data} == {"b"}
    # An unknown document gets everything, without CopyPrev
    assert proto.COPY_PREV not in [kind for kind, _, _ in unknown]
    assert {n for k, n, d in unknown if k == proto.FEATURE_GATE and d} == {"b"}


def test_proto_stream__unchanged_spec__sent_as_its_checksum_alone() -> None:
    encoder = Encoder()
    gate_a = _gate("a", 10)
    before = _rendered(_document(gate_a, _gate("b", 20)), encoder)
    _stream(before, None, deltas=False)
    after = _rendered(_document(gate_a, _gate("b", 25)), encoder)
    held = _stream(after, before.checksum, deltas=False)
    gates = {name: data for kind, name, data in held if kind == proto.FEATURE_GATE}
    assert gates == {"a": False, "b": True}


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"type": "multi_pass_gate", "targetValue": ["a"]}, "condition type"),
        ({"type": "user_field", "operator": "sounds_like", "targetValue": "x"}, "operator"),
    ],
)
def test_proto_condition__no_protobuf_number__unencodable_and_answered_as_json(
    condition: dict[str, Any], message: str
) -> None:
    with pytest.raises(proto.Unencodable, match=message):
        proto.condition(condition)
    document = _document(_gate("a", 10))
    document["condition_map"]["odd"] = condition  # type: ignore[assignment]
    assert _rendered(document, Encoder()).proto_bytes(None, deltas=False) is None
