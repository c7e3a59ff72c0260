"""``download_config_specs`` (v1 and v2), ``get_id_lists`` and the id-list files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from lockgate.domains.specs import service
from lockgate.faces.sdk.auth import authenticate_sdk
from lockgate.kit.responses import FastJSONResponse

router = APIRouter(tags=["SDK"])

DCS_KEYS = ("SERVER",)
DCS_CLIENT_SCOPE = "client_download_config_specs"


def _dcs(request: Request, path_key: str | None, header_key: str | None, version: int) -> Response:
    state = request.app.state
    with state.database.transaction(write=False) as session:
        key = authenticate_sdk(
            session,
            header_key or path_key,
            DCS_KEYS,
            what="download_config_specs",
            client_scope=DCS_CLIENT_SCOPE,
        )
    rendered = state.spec_cache.get(key.project_id, key.scope)
    since = request.query_params.get("sinceTime")
    checksum = request.query_params.get("checksum")
    if service.unchanged(rendered, since, checksum):
        return FastJSONResponse({"has_updates": False})
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    body = (
        rendered.v2_bytes(gzipped=gzipped) if version == 2 else rendered.v1_bytes(gzipped=gzipped)
    )
    headers = {"x-since-time": str(rendered.time_ms)}
    if gzipped:
        headers["content-encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


ApiKeyHeader = Annotated[str | None, Header(alias="STATSIG-API-KEY")]


@router.get("/v1/download_config_specs/{sdk_key}.json")
def dcs_v1(request: Request, sdk_key: str, statsig_api_key: ApiKeyHeader = None) -> Response:
    return _dcs(request, sdk_key, statsig_api_key, 1)


@router.get("/v1/download_config_specs")
def dcs_v1_header_key(request: Request, statsig_api_key: ApiKeyHeader = None) -> Response:
    return _dcs(request, None, statsig_api_key, 1)


@router.post("/v1/download_config_specs")
def dcs_v1_post(request: Request, statsig_api_key: ApiKeyHeader = None) -> Response:
    return _dcs(request, None, statsig_api_key, 1)


@router.get("/v2/download_config_specs/{sdk_key}.json")
def dcs_v2(request: Request, sdk_key: str, statsig_api_key: ApiKeyHeader = None) -> Response:
    return _dcs(request, sdk_key, statsig_api_key, 2)


@router.get("/v2/download_config_specs")
def dcs_v2_header_key(request: Request, statsig_api_key: ApiKeyHeader = None) -> Response:
    return _dcs(request, None, statsig_api_key, 2)


@router.post("/v1/get_id_lists")
def get_id_lists(request: Request, statsig_api_key: ApiKeyHeader = None) -> FastJSONResponse:
    state = request.app.state
    with state.database.transaction(write=False) as session:
        key = authenticate_sdk(
            session, statsig_api_key, DCS_KEYS, what="get_id_lists", client_scope=DCS_CLIENT_SCOPE
        )
    rendered = state.spec_cache.get(key.project_id, key.scope)
    base = str(request.base_url).rstrip("/")
    return FastJSONResponse(service.id_list_manifest(state.database, rendered, base))


@router.get("/v1/get_id_lists/{sdk_key}.json")
def get_id_lists_path_key(
    request: Request, sdk_key: str, statsig_api_key: ApiKeyHeader = None
) -> FastJSONResponse:
    return get_id_lists(request, statsig_api_key or sdk_key)


@router.get("/v1/download_id_list_file/{list_id}")
def download_id_list_file(
    request: Request, list_id: str, statsig_api_key: ApiKeyHeader = None
) -> Response:
    """The file of one id list; honours ``Range: bytes=N-`` (and ``?range=N-``)."""
    state = request.app.state
    with state.database.transaction(write=False) as session:
        key = authenticate_sdk(
            session,
            statsig_api_key,
            DCS_KEYS,
            what="download_id_list_file",
            client_scope=DCS_CLIENT_SCOPE,
        )
    header = request.headers.get("range") or (
        f"bytes={request.query_params['range']}" if "range" in request.query_params else None
    )
    body, total, start = service.id_list_file(state.database, key.project_id, list_id, header)
    if body is None:
        return FastJSONResponse({"status": 404, "message": f"ID list {list_id!r} not found."}, 404)
    status = 206 if start > 0 else 200
    headers = {"content-length": str(len(body)), "accept-ranges": "bytes"}
    if start > 0:
        headers["content-range"] = f"bytes {start}-{total - 1}/{total}"
    return Response(body, status_code=status, media_type="text/plain", headers=headers)
