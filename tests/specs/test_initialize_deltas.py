"""Initialize deltas (``domains/specs/deltas.py``, ``kit/jsjson.py``), held against the official
JS client's own code: every delta it is sent merges, without a checksum failure, into the very
entries and fields of the full answer; whatever cannot be sent exactly is sent whole."""

from __future__ import annotations

import random
import string
from typing import Any

import orjson
import pytest
import xxhash

from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.snapshot import ProjectSnapshot
from lockgate.cores.evaluation.hashing import djb2 as name_djb2
from lockgate.domains.specs.cache import PastRenderings, Rendered
from lockgate.domains.specs.deltas import (
    NO_UPDATES,
    SECTIONS,
    AnswerHistory,
    checksum_of,
    encode_answer,
    reply,
    signed,
)
from lockgate.kit import jsjson
from tests.compat.sdks import js_deltas

pytestmark = pytest.mark.database_free

DELETED = {
    "feature_gates": "deleted_gates",
    "dynamic_configs": "deleted_configs",
    "layer_configs": "deleted_layers",
}
# Only the delta's bookkeeping stays behind in what the client holds after merging.
DELTA_ONLY = ["checksum", "checksumV2", "is_delta"]


def _gate(name: str, value: bool = True, rule: str = "rule") -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "rule_id": rule,
        "id_type": "userID",
        "secondary_exposures": [{"gate": "12", "gateValue": "true", "ruleID": "r"}],
    }


def _config(name: str, value: dict[str, Any], rule: str = "rule") -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "rule_id": rule,
        "group": rule,
        "id_type": "userID",
        "is_device_based": False,
        "secondary_exposures": [],
        "passed": True,
    }


def _layer(name: str, value: dict[str, Any], rule: str = "rule") -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "rule_id": rule,
        "group": rule,
        "id_type": "userID",
        "is_device_based": False,
        "explicit_parameters": ["p"],
        "secondary_exposures": [],
        "undelegated_secondary_exposures": [],
    }


def _answer(
    gates: list[dict[str, Any]],
    configs: list[dict[str, Any]] = (),  # type: ignore[assignment]
    layers: list[dict[str, Any]] = (),  # type: ignore[assignment]
    **fields: Any,
) -> dict[str, Any]:
    return {
        "feature_gates": {gate["name"]: gate for gate in gates},
        "dynamic_configs": {config["name"]: config for config in configs},
        "layer_configs": {layer["name"]: layer for layer in layers},
        "param_stores": {},
        "time": 1_000,
        "has_updates": True,
        "hash_used": "djb2",
        "user": {"userID": "u1"},
        "evaluated_keys": {"userID": "u1"},
        "sdkParams": {},
        "derived_fields": {},
        **fields,
    }


BASE = _answer(
    [_gate("2404000921"), _gate("9"), _gate("4294967295", False), _gate("plain name")],
    [_config("1100", {"b": 1, "a": [1, 2]}), _config("77", {"price": 0.5})],
    [_layer("3", {"p": "x"})],
)


def _changed(**changes: Any) -> dict[str, Any]:
    """BASE with ``time`` moved on and each named section replaced."""
    return {**BASE, "time": 2_000, **changes}


def _without(section: str, name: str) -> dict[str, Any]:
    return {key: value for key, value in BASE[section].items() if key != name}


CASES: list[tuple[str, dict[str, Any], dict[str, set[str]], dict[str, list[str]]]] = [
    ("nothing changed but the time", _changed(), {}, {}),
    (
        "gate added",
        _changed(feature_gates={**BASE["feature_gates"], "123": _gate("123")}),
        {"feature_gates": {"123"}},
        {},
    ),
    (
        "gate changed",
        _changed(feature_gates={**BASE["feature_gates"], "9": _gate("9", False, "default")}),
        {"feature_gates": {"9"}},
        {},
    ),
    (
        "gate deleted",
        _changed(feature_gates=_without("feature_gates", "2404000921")),
        {},
        {"feature_gates": ["2404000921"]},
    ),
    (
        "config added with floats, big integers and numeric keys",
        _changed(
            dynamic_configs={
                **BASE["dynamic_configs"],
                "5": _config(
                    "5", {"z": 1.0, "10": 1e21, "9": -0.0, "n": 2**60, "e": 1.5e-7, "a": 100.25}
                ),
            }
        ),
        {"dynamic_configs": {"5"}},
        {},
    ),
    (
        "config value changed only in a number's type",
        _changed(
            dynamic_configs={
                **BASE["dynamic_configs"],
                "1100": _config("1100", {"b": 1.0, "a": [1, 2]}),
            }
        ),
        {"dynamic_configs": {"1100"}},
        {},
    ),
    (
        "config value changed only in its keys' order",
        _changed(
            dynamic_configs={
                **BASE["dynamic_configs"],
                "1100": _config("1100", {"a": [1, 2], "b": 1}),
            }
        ),
        {"dynamic_configs": {"1100"}},
        {},
    ),
    (
        "config deleted",
        _changed(dynamic_configs=_without("dynamic_configs", "77")),
        {},
        {"dynamic_configs": ["77"]},
    ),
    (
        "layer added",
        _changed(layer_configs={**BASE["layer_configs"], "8": _layer("8", {"p": "new"})}),
        {"layer_configs": {"8"}},
        {},
    ),
    (
        "layer changed",
        _changed(layer_configs={"3": _layer("3", {"p": "y"}, "experiment")}),
        {"layer_configs": {"3"}},
        {},
    ),
    ("layer deleted", _changed(layer_configs={}), {}, {"layer_configs": ["3"]}),
    (
        "a bit of everything, with new top-level fields",
        _changed(
            feature_gates={**_without("feature_gates", "9"), "77": _gate("77")},
            dynamic_configs={"1100": _config("1100", {"b": 2, "a": [1, 2]})},
            layer_configs={"3": _layer("3", {"p": "x"}), "4": _layer("4", {"ü": "☃"})},
            param_stores={"1": {"p": {"value": 3}}},
            user={"userID": "u1", "email": "a@b.c"},
            recording_blocked=False,
        ),
        {"feature_gates": {"77"}, "dynamic_configs": {"1100"}, "layer_configs": {"4"}},
        {"feature_gates": ["9"], "dynamic_configs": ["77"]},
    ),
]


def _signed(body: dict[str, Any]) -> bytes:
    return signed(encode_answer(body))


@pytest.mark.parametrize(
    ("new", "changed", "deleted"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_reply__client_holds_an_earlier_answer__js_client_merges_delta_into_the_full_answer(
    new: dict[str, Any], changed: dict[str, set[str]], deleted: dict[str, list[str]]
) -> None:
    # Given a client holding the answer to BASE, kept here
    history = AnswerHistory(1 << 20)
    held, full = _signed(BASE), _signed(new)
    assert reply(history, held, BASE, wants_delta=False, since=None) == held
    # When it asks for a delta to the new answer
    sent = reply(history, full, new, wants_delta=True, since=checksum_of(held))
    # Then it gets only what changed and what went
    delta = orjson.loads(sent)
    assert delta["is_delta"] is True
    assert {section: set(delta[section]) for section in SECTIONS} == {
        section: changed.get(section, set()) for section in SECTIONS
    }
    assert {section: delta[DELETED[section]] for section in SECTIONS} == {
        section: deleted.get(section, []) for section in SECTIONS
    }
    assert len(sent) < len(full)
    # and the official client, merging it, passes its checksum and holds the full answer
    merged = js_deltas(merges=[(held, sent, full)])["merges"][0]
    assert merged == {"differences": [], "extra": DELTA_ONLY}


def test_reply__random_answers_and_changes__every_delta_merges_exactly() -> None:
    rng = random.Random(5)
    history = AnswerHistory(1 << 24)
    merges = []
    for _ in range(60):
        old, new = _random_answer(rng), _random_answer(rng)
        for section in SECTIONS:  # most entries stay as they were, in another order
            kept = [(n, e) for n, e in old[section].items() if rng.random() < 0.8]
            new[section] = dict(rng.sample([*kept, *new[section].items()], len(kept)))
        held, full = _signed(old), _signed(new)
        reply(history, held, old, wants_delta=False, since=None)
        sent = reply(history, full, new, wants_delta=True, since=checksum_of(held))
        if sent != full:  # a delta when it is the smaller
            merges.append((held, sent, full))
    assert len(merges) > 30
    results = js_deltas(merges=merges)["merges"]
    assert results == [{"differences": [], "extra": DELTA_ONLY}] * len(merges)


def test_reply__checksum_not_kept__full_answer() -> None:
    history = AnswerHistory(1 << 20)
    full = _signed(_changed())
    assert reply(history, full, None, wants_delta=True, since="f" * 32) == full
    assert reply(history, full, None, wants_delta=True, since=None) == full


def test_reply__no_delta_asked__full_answer_even_from_a_kept_checksum() -> None:
    # The JS client asks again without deltas when its merge failed the checksum.
    history = AnswerHistory(1 << 20)
    held, full = _signed(BASE), _signed(_changed())
    reply(history, held, BASE, wants_delta=False, since=None)
    assert reply(history, full, None, wants_delta=False, since=checksum_of(held)) == full


def test_reply__client_holds_the_new_answer__no_updates_only_when_asked_for_a_delta() -> None:
    full = _signed(BASE)
    for history in (AnswerHistory(1 << 20), None):
        assert reply(history, full, None, wants_delta=True, since=checksum_of(full)) == NO_UPDATES
        assert reply(history, full, None, wants_delta=False, since=checksum_of(full)) == full


def test_reply__another_hash__full_answer() -> None:
    history = AnswerHistory(1 << 20)
    held, full = _signed(BASE), _signed(_changed(hash_used="sha256"))
    reply(history, held, BASE, wants_delta=False, since=None)
    assert reply(history, full, None, wants_delta=True, since=checksum_of(held)) == full


def test_reply__field_of_the_held_answer_gone__full_answer() -> None:
    # The merge keeps every top-level field the delta lacks: a field the new answer dropped
    # would stay behind.
    history = AnswerHistory(1 << 20)
    old = _changed(recording_blocked=True, can_record_session=False)
    held, full = _signed(old), _signed(_changed(time=3_000))
    reply(history, held, old, wants_delta=False, since=None)
    assert reply(history, full, None, wants_delta=True, since=checksum_of(held)) == full


def test_reply__delta_not_smaller__full_answer() -> None:
    history = AnswerHistory(1 << 20)
    # Every entry changed: the delta would be the full answer and its bookkeeping.
    new = _changed(
        feature_gates={gate: _gate(gate, False, "other") for gate in BASE["feature_gates"]},
        dynamic_configs={config: _config(config, {}) for config in BASE["dynamic_configs"]},
        layer_configs={layer: _layer(layer, {}) for layer in BASE["layer_configs"]},
    )
    held, full = _signed(BASE), _signed(new)
    reply(history, held, BASE, wants_delta=False, since=None)
    assert reply(history, full, None, wants_delta=True, since=checksum_of(held)) == full


def test_reply__history_off__full_answer() -> None:
    held, full = _signed(BASE), _signed(_changed())
    assert reply(None, full, None, wants_delta=True, since=checksum_of(held)) == full


def test_answer_history__over_budget__least_recently_given_go_first() -> None:
    answers = [_signed(_changed(time=t)) for t in range(4)]
    history = AnswerHistory(len(answers[0]) * 3)
    for answer in answers[:3]:
        history.keep(checksum_of(answer), answer)
    history.keep(checksum_of(answers[0]), answers[0])  # given again: now the most recent
    history.keep(checksum_of(answers[3]), answers[3])
    assert [history.get(checksum_of(a)) is not None for a in answers] == [True, False, True, True]
    # An index counts in the budget: building one evicts the oldest
    held = history.get(checksum_of(answers[3]))
    assert held is not None
    history.indexed(held, None, checksum_of(answers[3]))
    assert history.size <= history.max_bytes
    assert history.get(checksum_of(answers[3])) is held
    assert history.get(checksum_of(answers[2])) is None


def test_signed__answer__full_checksum_last_is_a_digest_of_the_rest() -> None:
    encoded = encode_answer(BASE)
    answer = signed(encoded)
    checksum = checksum_of(answer)
    assert checksum == xxhash.xxh3_128_hexdigest(encoded)
    parsed = orjson.loads(answer)
    assert list(parsed)[-1] == "full_checksum"
    assert parsed == {**BASE, "full_checksum": checksum}
    assert checksum_of(_signed(_changed())) != checksum


# kit/jsjson against Node.

FLOATS = [
    0.1, 1.0, -0.0, 0.0, 100.0, 1e21, 1e20, 123456789012345680000.0, 1e-6, 1e-7, 1.5e-7,
    -2.5e-9, 5e-324, 1.7976931348623157e308, 2.0**53, 2.0**60, 0.000001234, 1234.5678,
    9007199254740993.0, 4.35, 1e16, 1.2e16,
]  # fmt: skip
INTEGERS = [0, -1, 2**53, 2**53 + 1, -(2**53) - 1, 2**60 + 12345, 2**63 - 1, -(2**63)]
KEYS = ["10", "9", "b", "a", "01", "0", "4294967294", "4294967295", "-1", "1.5", "\ue000", "😀"]


def _random_float(rng: random.Random) -> float:
    return rng.choice([rng.uniform(-1, 1), rng.random() * 10.0 ** rng.randint(-12, 25)])


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([*FLOATS, _random_float(rng)])
    if kind == 1:
        return rng.choice([*INTEGERS, rng.randint(-1000, 1000)])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind in (3, 4):
        alphabet = string.ascii_letters + '"\\/\n\t\x00\x1f\x7fé☃😀\u2028\ufeff'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
    if kind == 5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS): _random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def _random_answer(rng: random.Random) -> dict[str, Any]:
    def name() -> str:
        return rng.choice([str(rng.randrange(2**32)), rng.choice(KEYS), f"name {rng.random()}"])

    def entry(section: str) -> dict[str, Any]:
        value = {rng.choice(KEYS): _random_value(rng) for _ in range(rng.randrange(4))}
        if section == "feature_gates":
            return _gate(name(), rng.random() < 0.5, rng.choice(["a", "b"]))
        if section == "dynamic_configs":
            return _config(name(), value, rng.choice(["a", "b"]))
        return _layer(name(), value)

    body = _answer([])
    for section in SECTIONS:
        entries = [entry(section) for _ in range(rng.randrange(1, 8))]
        body[section] = {item["name"]: item for item in entries}
    return body


def test_stringify__values_javascript_writes_otherwise__same_text_as_node() -> None:
    rng = random.Random(3)
    values = [*FLOATS, *INTEGERS, {key: 1 for key in KEYS}, {key: 1 for key in reversed(KEYS)}]
    values += [_random_float(rng) for _ in range(300)]
    values += [_random_value(rng) for _ in range(300)]
    texts = [orjson.dumps(value).decode() for value in values]
    assert js_deltas(texts=texts)["texts"] == [jsjson.stringify(value) for value in values]


def test_entry_text__sorted_two_levels__same_text_and_djb2_as_client_core() -> None:
    # Given entries inside two levels of maps, as client-core sorts an answer's maps
    rng = random.Random(4)
    entries: list[dict[str, Any]] = [
        {"value": value, "name": "n", "b": [value], "a": {"k": value}}
        for value in [*FLOATS, *INTEGERS, *(_random_value(rng) for _ in range(300))]
    ]
    entries += [{key: 1 for key in KEYS}, {"id_type": "userID", "value": {"b": 1, "a": 2}}]
    documents = [{"m": {"n": entry}} for entry in entries]
    node = js_deltas(checksums=[orjson.dumps(document).decode() for document in documents])
    plain = 0
    for entry, found in zip(entries, node["checksums"], strict=True):
        # Then Lockgate writes each entry as client-core does, quickly when orjson can
        text = jsjson.stringify(entry, sort=True)
        assert found["sorted"] == '{"m":{"n":' + text + "}}"
        assert found["djb2"] == jsjson.djb2(found["sorted"].encode())
        if jsjson.sorts_alike(entry):
            plain += 1
            assert orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode() == text
    assert 0 < plain < len(entries)  # both ways were taken


@pytest.mark.parametrize(
    "text",
    ["", "a", "gate name", "é☃", "😀 astral", "\x00\uffff", "x" * 70_000, "é😀" * 50_000],
    ids=["empty", "one", "ascii", "bmp", "astral", "edges", "over a chunk", "long unicode"],
)
def test_djb2__any_text__equals_the_name_hash_over_utf16_units(text: str) -> None:
    assert jsjson.djb2(text.encode()) == name_djb2(text)


def test_reply__held_answer_not_kept_but_evaluated_again__same_delta_as_from_a_kept_one() -> None:
    # Given a client holding the answer to BASE, kept by one worker and not by another
    held, new = _signed(BASE), _changed(feature_gates={"beta": _gate("beta", False)})
    full = _signed(new)
    keeper = AnswerHistory(1 << 20)
    reply(keeper, held, BASE, wants_delta=False, since=None)
    asked: list[str] = []

    def again(since: str) -> dict[str, Any] | None:
        asked.append(since)
        return BASE if since == checksum_of(held) else None

    # When it asks the other, which evaluates the held answer again
    sent = reply(
        AnswerHistory(1 << 20),
        full,
        new,
        wants_delta=True,
        since=checksum_of(held),
        recompute=again,
    )
    # Then it gets the delta the keeper sends, which never evaluates it again
    kept = reply(keeper, full, new, wants_delta=True, since=checksum_of(held), recompute=again)
    assert asked == [checksum_of(held)]
    assert sent == kept
    assert orjson.loads(sent)["is_delta"] is True
    assert js_deltas(merges=[(held, sent, full)])["merges"] == [
        {"differences": [], "extra": DELTA_ONLY}
    ]


def test_reply__held_answer_not_given_back__full_answer_and_evaluated_only_when_asked() -> None:
    full = _signed(_changed())
    asked: list[str] = []

    def nothing(since: str) -> dict[str, Any] | None:
        asked.append(since)
        return None

    history = AnswerHistory(1 << 20)
    assert reply(history, full, None, wants_delta=True, since="f" * 32, recompute=nothing) == full
    assert asked == ["f" * 32]
    for wants, since in ((False, "e" * 32), (True, None), (True, checksum_of(full))):
        reply(history, full, None, wants_delta=wants, since=since, recompute=nothing)
    assert reply(None, full, None, wants_delta=True, since="d" * 32, recompute=nothing) == full
    assert asked == ["f" * 32]


def test_past_renderings__newer_revisions__last_count_kept_by_time_newest_first() -> None:
    document = compile_v2(ProjectSnapshot(project_id="p", company_id="c", time_ms=1))
    renderings = [
        Rendered("p", revision, time, document, dict)
        for revision, time in ((1, 10), (2, 20), (2, 20), (3, 20), (4, 40))
    ]
    built = renderings[4].evaluator
    past = PastRenderings(3)
    for rendered in renderings:
        past.add(rendered)
    # Revision 1 went first; revision 2 is kept once; two revisions at one time, newest first
    assert len(past) == 3
    assert past.at(10) == []
    assert [kept.revision for kept in past.at(20)] == [3, 2]
    # An evaluator the rendering built is kept, one it did not is built on demand
    assert past.at(40)[0].evaluator is built
    assert past.at(20)[0].evaluator.store is not None
