"""Golden values for every hash: changing one of these re-buckets users or breaks lookups."""

from __future__ import annotations

import pytest

from lockgate.cores.evaluation.hashing import (
    HashAlgorithm,
    djb2,
    h64,
    hash_name,
    id_list_hash,
    passes_percentage,
    sha256_b64,
    user_bucket,
)
from lockgate.cores.evaluation.id_lists import apply_id_list_changes, id_list_file, parse_id_list

pytestmark = pytest.mark.database_free


def test_h64__pass_percentage_input__golden_bucket() -> None:
    assert h64("spec-salt-A.rule-salt-A.user-1") % 10000 == 217


def test_h64__user_bucket_input__golden_bucket() -> None:
    assert h64("bucket-salt.user-1") % 1000 == 12
    assert user_bucket("bucket-salt", "user-1") == 12


@pytest.mark.parametrize(
    ("percentage", "expected"),
    [(0, False), (2.17, False), (2.18, True), (100, True)],
)
def test_passes_percentage__around_golden_bucket__compares_strictly(
    percentage: float, expected: bool
) -> None:
    # Bucket 217 passes once the threshold (percentage * 100) is above 217.
    assert passes_percentage("spec-salt-A", "rule-salt-A", "user-1", percentage) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("test_email", "2057289135"),
        ("a_gate", "2867927529"),
        ("", "0"),
        ("global_holdout", "3211486611"),
    ],
)
def test_djb2__names__golden_values(name: str, expected: str) -> None:
    assert djb2(name) == expected


def test_id_list_hash__known_id__golden_prefix() -> None:
    assert id_list_hash("123") == "pmWkWSBC"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [("none", "a_gate"), ("djb2", "2867927529"), ("sha256", sha256_b64("a_gate"))],
)
def test_hash_name__each_algorithm__hashes_name(algorithm: HashAlgorithm, expected: str) -> None:
    assert hash_name("a_gate", algorithm) == expected


def test_parse_id_list__adds_and_removes__keeps_net_set() -> None:
    text = "+aaaaaaaa\n+bbbbbbbb\n-aaaaaaaa\n+\n\n"
    assert parse_id_list(text) == {"bbbbbbbb"}
    assert apply_id_list_changes({"bbbbbbbb"}, "-bbbbbbbb\n+cccccccc\n") == {"cccccccc"}


def test_id_list_file__round_trip__contains_hashes() -> None:
    assert parse_id_list(id_list_file(["123"])) == {"pmWkWSBC"}
