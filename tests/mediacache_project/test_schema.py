"""The API reference: every route is in /api/schema/ (or allowlisted with a reason), typed, valid."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import get_resolver, resolve
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator

from mediacache_project import schema as api_schema

# CONTRACT §4, endpoint by endpoint (the DELETE of an attachment is checked by the generic test
# below as soon as its route exists).
CONTRACT_OPERATIONS = [
    ("/media/{media_hash}", "get"),
    ("/media/{media_hash}", "head"),
    ("/media/{media_hash}.{ext}", "get"),
    ("/media/{media_hash}.{ext}", "head"),
    ("/media/{media_hash}/{variant}", "get"),
    ("/media/{media_hash}/{variant}", "head"),
    ("/media/stats", "get"),
    ("/media/cleanup", "post"),
    ("/media", "get"),
    ("/api/attachments/", "post"),
    ("/api/attachments/{id}/", "get"),
    ("/api/media/download", "post"),
    ("/admin/cache/stats", "get"),
    ("/admin/cache/clear/{prefix}", "post"),
    ("/admin/cache/flush", "post"),
    ("/healthz", "get"),
    ("/metrics", "get"),
]
PUBLIC_OPERATIONS = {
    ("/healthz", "get"),
    *((path, m) for path, m in CONTRACT_OPERATIONS if path.startswith("/media/{")),
}


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def url_patterns(urlconf: str | None = None):
    """``(namespace, qualified name, callback, route)`` of every pattern in the URLconf, includes flattened."""

    def walk(patterns, namespace: str, prefix: str):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
            else:
                name = f"{namespace}{pattern.name}" if pattern.name else None
                yield namespace.split(":")[0] or None, name, pattern.callback, prefix + str(pattern.pattern)

    return list(walk(get_resolver(urlconf).url_patterns, "", "/"))


def shape(path: str) -> str:
    """``/api/attachments/{pk}/`` and ``/api/attachments/{id}/`` are the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_manage_py_spectacular_validates_without_a_single_warning(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn`: any warning or schema error fails."""
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    assert json.loads(out.read_text())["openapi"].startswith("3.")


def undocumented_routes(urlconf: str | None = None) -> list[str]:
    """Routes of ``urlconf`` that are neither in its schema nor allowlisted, one line each."""
    openapi = SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
    drf_endpoints = EndpointEnumerator(urlconf=urlconf).get_api_endpoints()
    documented = {(shape(path), method) for path, item in openapi["paths"].items() for method in item}
    non_drf = {api_schema.ALIASES.get(name, name) for name in api_schema.NON_DRF_ROUTES}
    missing = []
    for namespace, name, callback, route in url_patterns(urlconf):
        if name in api_schema.NOT_API_ROUTES or namespace in api_schema.NOT_API_NAMESPACES:
            continue
        if name in non_drf:
            paths = [
                path
                for key, (path, _, _) in api_schema.NON_DRF_ROUTES.items()
                if api_schema.ALIASES.get(key, key) == name
            ]
            missing += [f"{route} ({name})" for path in paths if path not in openapi["paths"]]
            continue
        operations = [(path, method.lower()) for path, _, method, view in drf_endpoints if view is callback]
        if not operations:
            missing.append(f"{route} ({name}): not a DRF view and not in mediacache_project.schema.NON_DRF_ROUTES")
        missing += [
            f"{route} ({name}): {method.upper()} {path}"
            for path, method in operations
            if (shape(path), method) not in documented
        ]
    return missing


def test_every_url_pattern_is_in_the_schema_or_allowlisted():
    """A route added without documentation fails here, naming itself (new DRF views are documented by
    drf-spectacular automatically; plain Django views need an entry in NON_DRF_ROUTES)."""
    missing = undocumented_routes()
    assert missing == [], "\n".join(missing)


def test_the_completeness_check_names_a_plain_view_missing_from_the_schema():
    missing = undocumented_routes("tests.mediacache_project.urls_with_an_undocumented_route")
    line = "/undocumented (undocumented): not a DRF view and not in mediacache_project.schema.NON_DRF_ROUTES"
    assert missing == [*undocumented_routes(), line]


def test_every_contract_endpoint_is_in_the_schema(openapi):
    documented = {(path, method) for path, item in openapi["paths"].items() for method in item}
    assert [operation for operation in CONTRACT_OPERATIONS if operation not in documented] == []


def test_every_operation_has_a_typed_success_response(openapi):
    untyped = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            ok = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
            typed = any(
                code == "204" or any(c.get("schema") for c in answer.get("content", {}).values())
                for code, answer in ok.items()
            )
            if not typed:
                untyped.append(f"{method.upper()} {path}")
    assert untyped == []


def test_operator_endpoints_declare_the_bearer_scheme_and_public_ones_none(openapi):
    assert openapi["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert openapi["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, method in CONTRACT_OPERATIONS:
        operation = openapi["paths"][path][method]
        if (path, method) in PUBLIC_OPERATIONS:
            assert operation["security"] == [], f"{method} {path}"
        else:
            assert {"bearerAuth": []} in operation["security"], f"{method} {path}"
            assert set(operation["responses"]) >= {"401", "403"}, f"{method} {path}"


def test_statistics_response_names_the_contract_keys(openapi):
    response = openapi["paths"]["/media/stats"]["get"]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    field = openapi["components"]["schemas"][ref]["properties"]["statistics"]
    statistics_ref = field.get("$ref") or field["allOf"][0]["$ref"]
    statistics = openapi["components"]["schemas"][statistics_ref.rsplit("/", 1)[-1]]
    assert sorted(statistics["properties"]) == sorted(
        ["total_requests", "cache_hits", "api_calls", "failed_calls", "expired_media", "cache_hit_rate"]
    )


def test_metrics_is_documented_as_prometheus_text(openapi):
    assert list(openapi["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]


@pytest.mark.parametrize("name", sorted(api_schema.NON_DRF_ROUTES))
def test_each_documented_plain_route_resolves_to_its_view(name):
    _path, example, _item = api_schema.NON_DRF_ROUTES[name]
    assert resolve(example).url_name == api_schema.ALIASES.get(name, name)


@pytest.mark.django_db
def test_schema_is_served_without_login(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert "/media/{media_hash}" in json.loads(response.content)["paths"]


@pytest.mark.django_db
def test_docs_page_is_swagger_ui_from_packaged_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/api/schema/" in page
    assert "cdn" not in page.lower()
    assert "https://" not in page  # every asset comes from this server
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js") is not None
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css") is not None
