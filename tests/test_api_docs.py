"""The API describes itself: an OpenAPI 3.1 document of every operation, built from the
routes and models, and a reading page served locally under the strict CSP."""

from __future__ import annotations

import re
from typing import Any

from crm.api.framework import ENDPOINTS


def _api_routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint not in ("api.openapi_json", "api.docs"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            found |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_the_openapi_document_describes_every_operation(app: Any, client: Any) -> None:
    answer = client.get("/api/v1/openapi.json")  # public: no token needed to read the contract
    assert answer.status_code == 200 and answer.content_type == "application/json"
    doc = answer.get_json()
    assert doc["openapi"] == "3.1.0"
    described = {(path, method) for path, methods in doc["paths"].items() for method in methods}
    assert described == _api_routes(app)
    assert len(described) == len(ENDPOINTS) >= 39
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "jisr_<prefix>_<secret>",
        "description": "An API token from the settings page or `crm tokens create`.",
    }
    assert doc["security"] == [{"bearerAuth": []}]
    operation_ids = [op["operationId"] for methods in doc["paths"].values() for op in methods.values()]
    assert len(operation_ids) == len(set(operation_ids))

    patch = doc["paths"]["/api/v1/leads/{lead_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LeadUpdate"}
    assert {"200", "400", "401", "403", "404", "409", "412", "415", "422", "429"} <= set(patch["responses"])
    assert "ETag" in patch["responses"]["200"]["headers"]
    assert {p["name"] for p in patch["parameters"]} == {"lead_id", "If-Match"}
    listing = doc["paths"]["/api/v1/leads"]["get"]
    stage = next(p for p in listing["parameters"] if p["name"] == "stage")
    assert stage["schema"]["type"] == "array" and stage["explode"] is True
    sort = next(p for p in listing["parameters"] if p["name"] == "sort")
    assert "-updated_at" in sort["schema"]["enum"] and "search_text" not in sort["schema"]["enum"]
    problem = doc["components"]["responses"]["Problem422"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    assert {"LeadCreate", "LeadUpdate", "LeadOut", "Problem", "FieldError"} <= set(doc["components"]["schemas"])
    assert doc["components"]["schemas"]["LeadCreate"]["additionalProperties"] is False


def test_the_docs_page_lists_every_operation_and_needs_nothing_from_elsewhere(client: Any) -> None:
    answer = client.get("/api/v1/docs")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    page = answer.get_data(as_text=True)
    assert page.count('data-testid="api-operation"') == len(ENDPOINTS)
    for op in ENDPOINTS.values():
        assert f'id="op-{op.name}"' in page
    assert 'id="schema-LeadCreate"' in page and 'href="#schema-LeadCreate"' in page
    assert " style=" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    for script in re.findall(r"<script[^>]*>", page):
        assert "src=" in script or "nonce=" in script


def test_the_docs_page_speaks_arabic_right_to_left(client: Any) -> None:
    page = client.get("/api/v1/docs", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "توثيق واجهة البرمجة" in page
    assert '<code class="ms-1">/api/v1/leads/{lead_id}</code>' in page
