"""The OpenAPI reference (``/api/schema/``, browsable at ``/api/docs/``): what DRF cannot describe itself.

drf-spectacular documents the DRF views from their ``extend_schema`` declarations. Three
things are added here:

* the bearer scheme of ``MediaApiTokenAuthentication`` (an ``OpenApiAuthenticationExtension``:
  without it spectacular warns and the schema does not say how to authenticate);
* the routes that are deliberately *not* DRF views — ``GET|HEAD /media/<hash>`` (and its
  variants) is the hot path and ``/healthz`` is a load-balancer probe; they stay plain Django views with no DRF
  negotiation or authentication cost, and are described in ``NON_DRF_ROUTES`` by URL name.
  A postprocessing hook adds the entries of the names actually present in the URLconf, so the
  reference never shows a route that does not exist;
* 401/403 answers on every operation that needs an operator (they come from the DRF defaults,
  which spectacular does not list).

``tests/mediacache_project/test_schema.py`` fails when a URL pattern is neither in the schema
nor in ``NOT_API_ROUTES`` (the documented allowlist of pages that are not API).
"""

from __future__ import annotations

from typing import Any

from django.urls import get_resolver
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from media_store.variants import NAMES as VARIANT_NAMES


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer $MEDIA_API_TOKEN`` for the operator endpoints."""

    target_class = "mediacache_project.api.MediaApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The value of MEDIA_API_TOKEN (token auth is off while it is empty).",
        }


# Swagger UI from drf-spectacular-sidecar's packaged files (SWAGGER_UI_DIST = "SIDECAR"): no CDN.
docs_view = SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny])

# URL names that are not part of the API, and why (the completeness test skips exactly these).
NOT_API_ROUTES = {
    "media-unknown": "catch-all under /media/: the tiny 404 of anything that is not a token (see /media/{media_hash})",
    "media-cache": "the admin's Media cache HTML page (staff session)",
    "schema": "this document itself",
    "docs": "the browsable reference of this document",
}
# Namespaces that are HTML user interfaces, not API.
NOT_API_NAMESPACES = {"admin": "the Django admin site"}

_PUBLIC = {"security": []}
_NO_STORE = {"Cache-Control": {"schema": {"type": "string"}, "description": "no-store"}}
_MEDIA_HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": 'The content digest in quotes: "<sha256>".'},
    "Cache-Control": {"schema": {"type": "string"}, "description": "public, max-age=31536000, immutable"},
    "Accept-Ranges": {"schema": {"type": "string"}, "description": "bytes"},
    "X-Cache": {"schema": {"type": "string", "enum": ["HIT", "MISS"]}, "description": "MISS: served from origin."},
    "Content-Security-Policy": {"schema": {"type": "string"}, "description": "sandbox (no scripts, ever)."},
}
_TINY = {"text/plain": {"schema": {"type": "string"}}}


def _media_operation(operation_id: str, summary: str, parameters: list[dict]) -> dict:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": (
            "Public, no authentication. Range (one range), If-None-Match and If-Range are honoured. "
            "Types a browser would execute are sent with Content-Disposition: attachment."
        ),
        "tags": ["media"],
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "The stored bytes with their stored Content-Type.",
                "headers": _MEDIA_HEADERS,
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            "206": {
                "description": "One byte range (Content-Range, exact Content-Length).",
                "headers": _MEDIA_HEADERS,
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            "304": {"description": "If-None-Match matched: ETag and Cache-Control only."},
            "404": {"description": "Unknown, malformed or deleted token.", "headers": _NO_STORE, "content": _TINY},
            "405": {"description": "Only GET and HEAD (Allow: GET, HEAD)."},
            "416": {"description": "Range not satisfiable (Content-Range: bytes */<size>).", "content": _TINY},
            "503": {
                "description": "Origin unreachable and nothing cached (Retry-After).",
                "headers": {**_NO_STORE, "Retry-After": {"schema": {"type": "integer"}}},
                "content": _TINY,
            },
        },
        **_PUBLIC,
    }


def _path_parameter(name: str, description: str, pattern: str) -> dict:
    schema = {"type": "string", "pattern": pattern}
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


def _variant_operation(operation_id: str, summary: str) -> dict:
    operation = _media_operation(operation_id, summary, [_TOKEN, _VARIANT])
    operation["description"] = (
        "The attachment converted for a channel, made on first request and then stored like any content "
        "(the ETag is the variant's own digest). Same Range and conditional semantics as the original."
    )
    operation["responses"] = {
        **operation["responses"],
        "404": {"description": "Unknown token or unknown variant name.", "headers": _NO_STORE, "content": _TINY},
        "422": {
            "description": "The source cannot be converted to this variant.",
            "headers": _NO_STORE,
            "content": _TINY,
        },
        "503": {
            "description": "The transcoder is busy past its wait, or the origin is down (Retry-After).",
            "headers": {**_NO_STORE, "Retry-After": {"schema": {"type": "integer"}}},
            "content": _TINY,
        },
    }
    return operation


_TOKEN = _path_parameter("media_hash", "The attachment's public token.", "^[0-9a-f]{32}$")
_EXT = _path_parameter("ext", "Any extension (cosmetic, for clients that want one).", "^[A-Za-z0-9]{1,10}$")
_VARIANT = {
    "name": "variant",
    "in": "path",
    "required": True,
    "description": "The variant's file name.",
    "schema": {"type": "string", "enum": list(VARIANT_NAMES)},
}
_HEALTH = {
    "type": "object",
    "properties": {key: {"type": "string", "enum": ["ok", "down"]} for key in ("database", "cache", "storage")},
    "required": ["database", "cache", "storage"],
}

# URL name → (OpenAPI path, example path the URL must resolve, path item).
NON_DRF_ROUTES: dict[str, tuple[str, str, dict]] = {
    "media": (
        "/media/{media_hash}",
        "/media/0123456789abcdef0123456789abcdef",
        {
            "get": _media_operation("media_get", "The attachment's bytes", [_TOKEN]),
            "head": _media_operation("media_head", "The attachment's headers, no body", [_TOKEN]),
        },
    ),
    "media-with-extension": (
        "/media/{media_hash}.{ext}",
        "/media/0123456789abcdef0123456789abcdef.ogg",
        {
            "get": _media_operation("media_ext_get", "The attachment's bytes (alias with extension)", [_TOKEN, _EXT]),
            "head": _media_operation("media_ext_head", "Headers of the alias, no body", [_TOKEN, _EXT]),
        },
    ),
    "media-variant": (
        "/media/{media_hash}/{variant}",
        "/media/0123456789abcdef0123456789abcdef/voice.ogg",
        {
            "get": _variant_operation("media_variant_get", "The attachment as a channel variant"),
            "head": _variant_operation("media_variant_head", "The variant's headers, no body"),
        },
    ),
    "healthz": (
        "/healthz",
        "/healthz",
        {
            "get": {
                "operationId": "healthz",
                "summary": "Can this node serve?",
                "description": "503 when the database or the origin is down; the cache alone down still answers 200.",
                "tags": ["operations"],
                "responses": {
                    "200": {"description": "Serving.", "content": {"application/json": {"schema": _HEALTH}}},
                    "503": {"description": "Not serving.", "content": {"application/json": {"schema": _HEALTH}}},
                },
                **_PUBLIC,
            }
        },
    ),
}
# The /media/<hash> pattern serves the alias too; the schema lists the two paths separately.
ALIASES = {"media-with-extension": "media"}

_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def url_names() -> set[str]:
    """Every URL name in the project's URLconf (namespaced ones as ``ns:name``)."""
    names: set[str] = set()

    def walk(patterns, namespace: str) -> None:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif pattern.name:
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns, "")
    return names


def add_non_drf_routes(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: the plain Django routes of ``NON_DRF_ROUTES`` and the 401/403 answers."""
    present = url_names()
    paths = result.setdefault("paths", {})
    for name, (path, _example, item) in NON_DRF_ROUTES.items():
        if ALIASES.get(name, name) in present:
            paths[path] = item
    result["paths"] = dict(sorted(paths.items()))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", _ERROR)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in paths.values():
        for operation in item.values():
            if any("bearerAuth" in requirement for requirement in operation.get("security", [])):
                responses = operation.setdefault("responses", {})
                responses.setdefault(
                    "401", {"description": "No credentials (WWW-Authenticate: Bearer).", "content": error}
                )
                responses.setdefault("403", {"description": "Authenticated, but not staff.", "content": error})
    return result
