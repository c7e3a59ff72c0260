"""Bodies over a real socket to a real server process: what the transport decides.

Each request sends less than it announces, or never ends its chunked body, so a server that
read the body before answering would wait until the test's socket timeout and fail.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from tests.transport.encodings import MIB, gzip_bomb
from tests.transport.server import Served, chunked, lockgate_process, raw_request

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for memory")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # A data directory of its own (SQLite whatever the suite's database): the transport is the
    # subject here, and one server serves the whole module.
    data_dir = tmp_path_factory.mktemp("served")
    with lockgate_process(
        data_dir / "server.log", data_dir=str(data_dir), sdk_max_body_bytes=str(MIB)
    ) as server:
        yield server


def test_log_event__content_length_over_limit__413_before_any_body(served: Served) -> None:
    response = raw_request(
        served,
        "/v1/log_event",
        {"STATSIG-API-KEY": served.keys["server secret"], "Content-Length": str(10 * 1024 * MIB)},
    )
    assert response.status == 413
    assert json.loads(response.body)["status"] == 413


def test_log_event__chunked_body_past_limit__413_at_the_limit(served: Served) -> None:
    # 2 MiB sent in 64 KiB chunks, and the body never ends.
    response = raw_request(
        served,
        "/v1/log_event",
        {"STATSIG-API-KEY": served.keys["server secret"], "Transfer-Encoding": "chunked"},
        chunked(b" " * 2 * MIB, 64 * 1024),
    )
    assert response.status == 413


def test_rgstr__gzip_bomb_without_key__401_before_the_body(served: Served) -> None:
    bomb = gzip_bomb(1024)  # 1 GiB of zeros in about a megabyte
    response = raw_request(
        served,
        "/v1/rgstr",
        {"Content-Encoding": "gzip", "Content-Length": str(len(bomb))},
        [bomb[: len(bomb) // 2]],
    )
    assert response.status == 401
    assert json.loads(response.body)["status"] == 401


def test_rgstr__gzip_bomb_with_key__413_and_memory_stays_flat(served: Served) -> None:
    bomb = gzip_bomb(512)  # 512 MiB of zeros
    before = served.peak_rss_bytes()
    response = raw_request(
        served,
        f"/v1/rgstr?k={served.keys['client key']}",
        {"Content-Encoding": "gzip", "Content-Length": str(len(bomb))},
        [bomb],
    )
    assert response.status == 413
    # Inflating stops at the 1 MiB limit; the whole bomb would have taken 512 MiB and more.
    assert served.peak_rss_bytes() - before < 64 * MIB
