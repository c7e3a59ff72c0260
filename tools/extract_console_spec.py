"""Write the schema-only extract of the official Console API spec that the contract tests use.

    python tools/extract_console_spec.py PATH/TO/statsig-console-openapi.json

Keeps paths, methods, parameters, response codes and schemas; drops descriptions and examples.
Where the official spec contradicts Statsig's real responses, ``CORRECTIONS`` patches the
schema and says why, so the tests check what clients actually receive.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "contract" / "console_spec.json"
DROP = {"description", "example", "examples", "summary", "externalDocs", "title"}

# (schema name, property, replacement, reason)
CORRECTIONS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "AuditLogDto",
        "actionType",
        {"type": "string"},
        "typed object, but the spec's own example and Statsig's API return a string",
    ),
    (
        "ExternalMetricDefinitionContractDto",
        "type",
        {
            "type": "string",
            "enum": [
                "ratio",
                "sum",
                "composite",
                "mean",
                "event_count_custom",
                "event_user",
                "funnel",
                "undefined",
                "setup_incomplete",
                "composite_sum",
                "import_window",
                "user_warehouse",
                "count_distinct",
                "event_count",
                "event_dau",
            ],
        },
        "the enum omits the automatic metrics event_count and event_dau that Statsig's own "
        "/events/{eventName}/metrics example returns",
    ),
    (
        "AuditLogDto",
        "modifierEmail",
        {"type": "string", "nullable": True},
        "typed object; it is the modifier's email, null for API-key changes",
    ),
]


# (path, method, status, replacement, reason): whole response schemas the spec gets wrong.
RESPONSE_CORRECTIONS: list[tuple[str, str, str, dict[str, Any], str]] = [
    (
        "/console/v1/segments/{id}/id_list",
        "get",
        "200",
        {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "data": {"$ref": "#/components/schemas/IDListDto"},
                "pagination": {"$ref": "#/components/schemas/PaginationResponseMetadataDto"},
            },
            "required": ["message", "data", "pagination"],
        },
        "allOf of a list envelope (data: array) and data: IDListDto (an object) admits no "
        "response; docs/console.md §Envelope and pagination says data is one IDListDto",
    ),
    (
        "/console/v1/experiments/{id}/cumulative_exposures",
        "get",
        "200",
        {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "data": {"$ref": "#/components/schemas/CumulativeExposureResponseDto"},
            },
            "required": ["message", "data"],
        },
        "allOf of SingleDataResponse (data: object) and the DTO (an array) admits no response; "
        "the spec's own example has data as the array",
    ),
    *(
        (
            f"/console/v1/ingestion/events/{ledger}",
            "get",
            "200",
            {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "data": {"$ref": f"#/components/schemas/{dto}"},
                },
                "required": ["message", "data"],
            },
            "allOf of SingleDataResponse (data: object) and the DTO (an array) admits no "
            "response; the DTO's two forms are both arrays",
        )
        for ledger, dto in (
            ("count", "IngestionEventCountResponseDto"),
            ("delta", "IngestionEventDeltaResponseDto"),
        )
    ),
]

# The March 2026 spec adds two condition types (docs/console.md §Contract versions, §Conditions)
# that Lockgate accepts; every enum of the 23 older condition types gains them.
CONDITION_TYPES_2026 = ["user_agent", "experiment_group"]


def _extend_condition_enums(node: Any) -> int:
    count = 0
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and "passes_segment" in enum and "public" in enum:
            node["enum"] = enum + [t for t in CONDITION_TYPES_2026 if t not in enum]
            count += 1
        for value in node.values():
            count += _extend_condition_enums(value)
    elif isinstance(node, list):
        for value in node:
            count += _extend_condition_enums(value)
    return count


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = {}
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                media: dict[str, Any] = content.get("application/json") or next(
                    iter(content.values()), {}
                )
                responses[code] = _strip(media.get("schema", {}))
            paths.setdefault(path, {})[method] = {
                "tags": operation.get("tags", []),
                "parameters": _strip(operation.get("parameters", [])),
                "requestBody": _strip(operation.get("requestBody", {})),
                "responses": responses,
            }
    schemas = _strip(spec["components"]["schemas"])
    for name, prop, replacement, _reason in CORRECTIONS:
        schemas[name]["properties"][prop] = replacement
    extended = _extend_condition_enums(schemas) + _extend_condition_enums(paths)
    for path, method, status, replacement, _reason in RESPONSE_CORRECTIONS:
        paths[path][method]["responses"][status] = replacement
    return {
        "info": {"version": spec["info"]["version"]},
        "corrections": [
            *({"schema": n, "property": p, "reason": r} for n, p, _x, r in CORRECTIONS),
            *(
                {"schema": f"{m.upper()} {p} {c}", "property": "(response)", "reason": r}
                for p, m, c, _x, r in RESPONSE_CORRECTIONS
            ),
            {
                "schema": f"{extended} condition-type enums",
                "property": "type",
                "reason": "the 2026 spec adds user_agent and experiment_group",
            },
        ],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if source is None:
        raise SystemExit(__doc__)
    OUT.write_text(json.dumps(extract(json.loads(source.read_text())), indent=0, sort_keys=True))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
