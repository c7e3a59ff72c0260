"""Bounds on what one request, event or entity may hold, each with its reason.

Hostile input is normal input: each bound turns what would fail deep inside (the database, the
JSON encoder, an SDK parsing the spec) into an answer that names the field, before anything is
stored. The README's "Limits" section lists them for users.
"""

from __future__ import annotations

# -- Any JSON value: request bodies, config, return and parameter values, event users and
# metadata.

# Levels of nested objects and arrays. statsig-python-core stops parsing a config value nested
# 128 levels deep (that config then evaluates to its default in every server using it), and
# orjson, which writes every JSON column and response, refuses 255.
MAX_JSON_DEPTH = 100
# Integers are signed 64-bit: PostgreSQL's bigint, the Rust SDK's i64 and the largest orjson
# writes (JavaScript SDKs read them as doubles, exact up to 2**53).
MIN_JSON_INT = -(2**63)
MAX_JSON_INT = 2**63 - 1
# Event users and metadata are stored, never served to SDKs: their integers may go as far as
# orjson writes them (unsigned 64-bit), which is also as far as it reads them as integers.
MAX_EVENT_JSON_INT = 2**64 - 1

# -- The Console API.

# Pages of a list: with ``limit`` at most 1000, an offset stays far inside the 64-bit integers
# the databases take, and no project holds a billion of anything.
MAX_PAGE = 1_000_000_000

# -- SDK events (``/v1/rgstr``, ``/v1/log_event``); a bad event is rejected alone.

# Event times are epoch milliseconds up to the end of year 9999, the last instant Python's
# datetime (and so every day bucket Pulse computes) can hold.
MAX_EVENT_TIME_MS = 253_402_300_799_999
# A unit id (userID, stableID, any custom id): the width of the columns Pulse joins on.
MAX_UNIT_ID_CHARS = 512
# An event's user, metadata and secondary exposures, each as serialised JSON. SDKs send a few
# hundred bytes; the bound keeps one client from filling the event tables with one event.
MAX_EVENT_JSON_BYTES = 64 * 1024

# -- Entities (gates, dynamic configs, segments, experiments, layers, holdouts, autotunes).
# Every SDK downloads every entity on every change, so an entity's size is paid by every
# server and browser that uses the project. Large sets of ids belong in id-list segments,
# which SDKs download once, as files, and update by appending.

# Values of one condition (``targetValue``). Statsig serves id lists under 1000 ids inline
# in the spec and larger ones as files; a condition listing more is an id list in disguise.
MAX_TARGET_VALUES = 1000
# Conditions of one rule (all must pass) and rules of one entity (evaluated in order).
MAX_CONDITIONS_PER_RULE = 100
MAX_RULES = 200
# Groups of an experiment or variants of an autotune: each needs enough units to measure.
MAX_GROUPS = 100
# Parameters of a layer or of an experiment's groups.
MAX_PARAMETERS = 500
# The stored document of one entity, as serialised JSON: room for the longest lists the
# Console API allows (four override lists of 2000 ids), a fraction of what SDKs must download.
MAX_ENTITY_BYTES = 1024 * 1024
