"""``download_config_specs`` (v1 and v2), ``get_id_lists`` and the id-list files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lockgate.domains.specs import service
from lockgate.domains.specs.cache import Rendered, SpecCache
from lockgate.faces.sdk.auth import SdkKey, authenticate
from lockgate.kit.responses import FastJSONResponse

router = APIRouter(tags=["SDK"])

DCS_KEYS = ("SERVER",)
DCS_CLIENT_SCOPE = "client_download_config_specs"


NO_UPDATES = b'{"has_updates":false}'


async def rendered_for(request: Request, key: SdkKey) -> Rendered:
    """The key's rendering: from memory when its revision was checked lately, else after a
    look at the database (and perhaps a compile) in a worker thread."""
    cache: SpecCache = request.app.state.spec_cache
    found = cache.cached(key.project_id, key.scope)
    if found is not None:
        return found
    return await run_in_threadpool(cache.get, key.project_id, key.scope)


async def _key(request: Request, raw_key: str | None, what: str) -> SdkKey:
    return await authenticate(
        request.app.state.key_cache, raw_key, DCS_KEYS, what=what, client_scope=DCS_CLIENT_SCOPE
    )


async def _dcs(
    request: Request, path_key: str | None, header_key: str | None, version: int
) -> Response:
    key = await _key(request, header_key or path_key, "download_config_specs")
    rendered = await rendered_for(request, key)
    since = request.query_params.get("sinceTime")
    checksum = request.query_params.get("checksum")
    if service.unchanged(rendered, since, checksum):
        return Response(NO_UPDATES, media_type="application/json")
    headers = {"x-since-time": str(rendered.time_ms)}
    if version == 2 and _wants_proto(request):
        deltas = request.query_params.get("accept_deltas") == "true"
        stream = await run_in_threadpool(rendered.proto_bytes, checksum, deltas=deltas)
        if stream is not None:
            headers["content-encoding"] = "statsig-br"
            return Response(stream, media_type="application/octet-stream", headers=headers)
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    body = rendered.encoded(version, gzipped=gzipped)
    if body is None:  # the first request of a revision encodes it, off the event loop
        encode = rendered.v2_bytes if version == 2 else rendered.v1_bytes
        body = await run_in_threadpool(lambda: encode(gzipped=gzipped))
    if gzipped:
        headers["content-encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


def _wants_proto(request: Request) -> bool:
    """statsig-python-core asks for protobuf on every poll (docs/sdk.md §Protobuf specs)."""
    asked = request.query_params.get("supports_proto") == "true" or (
        request.headers.get("statsig-supports-proto") == "true"
    )
    return asked and bool(request.app.state.settings.sdk_protobuf_specs)


ApiKeyHeader = Annotated[str | None, Header(alias="STATSIG-API-KEY")]


@router.get("/v1/download_config_specs/{sdk_key}.json")
async def dcs_v1(request: Request, sdk_key: str, statsig_api_key: ApiKeyHeader = None) -> Response:
    return await _dcs(request, sdk_key, statsig_api_key, 1)


@router.get("/v1/download_config_specs")
async def dcs_v1_header_key(request: Request, statsig_api_key: ApiKeyHeader = None) -> Response:
    return await _dcs(request, None, statsig_api_key, 1)


@router.post("/v1/download_config_specs")
async def dcs_v1_post(request: Request, statsig_api_key: ApiKeyHeader = None) -> Response:
    return await _dcs(request, None, statsig_api_key, 1)


@router.get("/v2/download_config_specs/{sdk_key}.json")
async def dcs_v2(request: Request, sdk_key: str, statsig_api_key: ApiKeyHeader = None) -> Response:
    return await _dcs(request, sdk_key, statsig_api_key, 2)


@router.get("/v2/download_config_specs")
async def dcs_v2_header_key(request: Request, statsig_api_key: ApiKeyHeader = None) -> Response:
    return await _dcs(request, None, statsig_api_key, 2)


@router.post("/v1/get_id_lists")
async def get_id_lists(request: Request, statsig_api_key: ApiKeyHeader = None) -> FastJSONResponse:
    key = await _key(request, statsig_api_key, "get_id_lists")
    rendered = await rendered_for(request, key)
    base = str(request.base_url).rstrip("/")
    manifest = await run_in_threadpool(
        service.id_list_manifest, request.app.state.database, rendered, base
    )
    return FastJSONResponse(manifest)


@router.get("/v1/get_id_lists/{sdk_key}.json")
async def get_id_lists_path_key(
    request: Request, sdk_key: str, statsig_api_key: ApiKeyHeader = None
) -> FastJSONResponse:
    return await get_id_lists(request, statsig_api_key or sdk_key)


@router.get("/v1/download_id_list_file/{list_id}")
async def download_id_list_file(
    request: Request, list_id: str, statsig_api_key: ApiKeyHeader = None
) -> Response:
    """The file of one id list; honours ``Range: bytes=N-`` (and ``?range=N-``)."""
    key = await _key(request, statsig_api_key, "download_id_list_file")
    header = request.headers.get("range") or (
        f"bytes={request.query_params['range']}" if "range" in request.query_params else None
    )
    body, total, start = await run_in_threadpool(
        service.id_list_file, request.app.state.database, key.project_id, list_id, header
    )
    if body is None:
        return FastJSONResponse({"status": 404, "message": f"ID list {list_id!r} not found."}, 404)
    status = 206 if start > 0 else 200
    headers = {"content-length": str(len(body)), "accept-ranges": "bytes"}
    if start > 0:
        headers["content-range"] = f"bytes {start}-{total - 1}/{total}"
    return Response(body, status_code=status, media_type="text/plain", headers=headers)
