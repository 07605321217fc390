"""Who may call what: every API endpoint × every role × own / other scope, each allow and each refusal.

Roles (tests/api/api_world.py): the county admin, town A's supervisor, town A's enumerator, a
county official, town A's official, an anonymous caller, and a script with an API token of town
A's supervisor (it must get exactly that supervisor's rights).  "own" is an object of the caller's
county (of town A where objects belong to towns), "other" one of town B or of another county;
for lists, what they leave out is checked too.  Refusals: 401 without credentials, 403 for a role
without the right, 404 for an object outside the caller's scope (treated as absent).
`test_every_api_endpoint_is_in_the_matrix` fails when the URLconf grows an API view that this
table does not list.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Q
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from assessment.models import AuditEvent, Visit
from tests.api.api_world import ROLES, TOKEN_USER, World, world_build

NO_SUCH = 999_999_999
FAKE_TOKEN = "A" * 32  # well-formed, opens nothing
Call = tuple[str, str, Any]  # method, path, body
Check = Callable[[World, str, Any], None]


@dataclass(frozen=True)
class Row:
    name: str  # URL name
    scope: str  # own | other | public
    call: c
    expect: dict[str, int]
    check: Check | None = None

    @property
    def id(self) -> str:
        return f"{self.name}-{self.call.__name__}-{self.scope}"


def exp(admin: int, sup: int, enum: int, off_county: int, off_a: int, anon: int = 401) -> dict[str, int]:
    """Expected statuses per role; the token client has its user's (town A's supervisor's)."""
    found = dict(zip(ROLES, (admin, sup, enum, off_county, off_a, anon)))
    found["token_client"] = found[TOKEN_USER]
    return found


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


# --- checks on what a list shows --------------------------------------------------------------

def results(body: Any) -> list[dict[str, Any]]:
    return body["results"] if isinstance(body, dict) else body


def only_own_county_waves(w: World, role: str, body: Any) -> None:
    codes = {r["code"] for r in results(body)}
    assert w.wave.code in codes and w.other_wave.code not in codes


def cases_in_scope(w: World, role: str, body: Any) -> None:
    towns = {r["town"] for r in results(body)}
    assert towns, "a caller with cases sees some"
    if role in ("supervisor_a", "token_client"):
        assert towns == {w.town_a.code}
    if role == "enumerator_a":
        assert {r["assigned_to"] for r in results(body)} == {"enumerator_yushan"}


def responses_in_scope(w: World, role: str, body: Any) -> None:
    towns = {r["town"] for r in results(body)}
    assert w.town_a.code in towns
    assert (w.town_b.code in towns) == (role == "admin")
    assert "answers" not in results(body)[0]  # no personal data


def decisions_in_scope(w: World, role: str, body: Any) -> None:
    ids = {r["id"] for r in results(body)}
    assert w.own["decision"].pk in ids
    assert (w.other["decision"].pk in ids) == (role == "admin")


def weight_sets_of_county(w: World, role: str, body: Any) -> None:
    ids = {r["id"] for r in results(body)}
    assert w.own["weight_set"].pk in ids and w.other["weight_set"].pk not in ids


def frames_of_county(w: World, role: str, body: Any) -> None:
    ids = {r["id"] for r in results(body)}
    assert w.own["frame"].pk in ids and w.other["frame"].pk not in ids


def estimate_cells_in_scope(w: World, role: str, body: Any) -> None:
    towns = {c["domain"]["town"] for c in body["cells"]}
    assert body["overall"]["n"] > 0
    if role in ("admin", "official_county"):
        assert {w.town_a.code, w.town_b.code} <= towns and body["scope"] is None
    else:
        assert towns == {w.town_a.code} and body["scope"] == [w.town_a.code]


def estimate_by_sex_split_by_town(w: World, role: str, body: Any) -> None:
    cells = body["cells"]
    if role in ("admin", "official_county"):
        assert sorted((c["domain"] for c in cells), key=str) == [{"sex": "female"}, {"sex": "male"}]
    else:  # no county-wide breakdown for a town: their town's cells by sex
        assert sorted(c["domain"]["sex"] for c in cells) == ["female", "male"]
        assert {c["domain"]["town"] for c in cells} == {w.town_a.code}


def reports_in_scope(w: World, role: str, body: Any) -> None:
    entries = {(e["kind"], e["code"]) for wave in results(body) for e in wave["reports"]}
    assert ("town", w.town_a.code) in entries
    assert (("town", w.town_b.code) in entries) == (role in ("admin", "official_county"))


def audit_is_listed(w: World, role: str, body: Any) -> None:
    # the admin's county's events and the shared ones (question banks, keys), no other county's
    expected = AuditEvent.objects.filter(Q(county_id=w.wave.county_id) | Q(county__isnull=True))
    assert body["count"] == expected.count() > 0
    assert AuditEvent.objects.exclude(county_id=w.wave.county_id).exclude(county__isnull=True).exists()
    assert {e["county"] for e in body["results"]} <= {w.wave.county.code, None}


def visit_refused(w: World, role: str, body: Any) -> None:
    statuses = [r["status"] for r in body["results"]]
    assert statuses == (["stored"] if role == "admin" else ["refused"])
    if role == "admin":  # the admin (called first) stored it; the refused callers left no visit of their own
        assert Visit.objects.filter(client_id=VISIT["client_id"], enumerator__username="admin").exists()
    assert Visit.objects.filter(client_id=VISIT["client_id"]).count() <= 1


def field_bundle_of_own_cases(w: World, role: str, body: Any) -> None:
    if role == "enumerator_a":
        assert body["cases"] and all(c["town"] == w.town_a.name_zh for c in body["cases"])
    else:  # supervisors and admins take out the cases assigned to themselves: none here
        assert body["cases"] == []


# --- the table --------------------------------------------------------------------------------

V1 = "/api/v1"
ADMIN_ONLY = exp(200, 403, 403, 403, 403)
ADMIN_ONLY_404 = exp(404, 403, 403, 403, 403)
ADMIN_ONLY_400 = exp(400, 403, 403, 403, 403)
STAFF = exp(200, 200, 200, 200, 200)
FIELD_MONITORS = exp(200, 200, 403, 403, 403)  # admins and supervisors
REPORT_RIGHTS = exp(200, 200, 403, 200, 200)
REVIEWERS = exp(200, 200, 403, 403, 403)


@dataclass(frozen=True)
class c:  # noqa: N801  (reads as a call in the table)
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] | None = None
    name: str = ""
    multipart: bool = False

    def __call__(self, w: World) -> Call:
        return self.method, self.path(w), self.body(w) if self.body else None

    @property
    def __name__(self) -> str:
        return self.name or self.method.lower()


VISIT = {"client_id": "5c2f5f1e-9b7e-4f4b-8a43-2d6d3f4b7a10", "visited_at": "2025-09-02T10:00:00+08:00", "outcome": "non_contact"}

ROWS: list[Row] = [
    # respondents: the invitation token is the credential, whoever calls
    Row("api-invitation", "own", c("GET", lambda w: f"{V1}/invitations/{w.own['invitation']}/"), everyone(200)),
    Row("api-invitation", "other", c("GET", lambda w: f"{V1}/invitations/{FAKE_TOKEN}/"), everyone(404)),
    Row("api-submission", "own", c("POST", lambda w: f"{V1}/invitations/{w.own['invitation']}/responses/", lambda w: {}), everyone(400)),
    Row("api-submission", "other", c("POST", lambda w: f"{V1}/invitations/{FAKE_TOKEN}/responses/", lambda w: {}), everyone(404)),
    # instruments, versions, keys: admins
    Row("api-instruments", "own", c("GET", lambda w: f"{V1}/instruments/"), ADMIN_ONLY),
    Row("api-instrument", "own", c("GET", lambda w: f"{V1}/instruments/science_literacy/"), ADMIN_ONLY),
    Row("api-instrument", "other", c("GET", lambda w: f"{V1}/instruments/no_such/"), ADMIN_ONLY_404),
    Row("api-versions", "own", c("GET", lambda w: f"{V1}/instrument-versions/"), ADMIN_ONLY),
    Row("api-versions", "own", c("POST", lambda w: f"{V1}/instrument-versions/", lambda w: {}, multipart=True), ADMIN_ONLY_400),
    Row("api-version", "own", c("GET", lambda w: f"{V1}/instrument-versions/{w.own['version'].pk}/"), ADMIN_ONLY),
    Row("api-version", "other", c("GET", lambda w: f"{V1}/instrument-versions/{NO_SUCH}/"), ADMIN_ONLY_404),
    Row("api-version-xlsform", "own", c("GET", lambda w: f"{V1}/instrument-versions/{w.own['version'].pk}/xlsform/"), ADMIN_ONLY),
    Row("api-version-xlsform", "other", c("GET", lambda w: f"{V1}/instrument-versions/{NO_SUCH}/xlsform/"), ADMIN_ONLY_404),
    Row("api-version-publish", "own", c("POST", lambda w: f"{V1}/instrument-versions/{w.own['version'].pk}/publish/"), ADMIN_ONLY),
    Row("api-version-publish", "other", c("POST", lambda w: f"{V1}/instrument-versions/{NO_SUCH}/publish/"), ADMIN_ONLY_404),
    Row("api-keys", "own", c("GET", lambda w: f"{V1}/scoring-keys/"), ADMIN_ONLY),
    Row("api-keys", "own", c("POST", lambda w: f"{V1}/scoring-keys/", lambda w: {}, multipart=True), ADMIN_ONLY_400),
    Row("api-key", "own", c("GET", lambda w: f"{V1}/scoring-keys/{w.own['key'].pk}/"), ADMIN_ONLY),
    Row("api-key", "other", c("GET", lambda w: f"{V1}/scoring-keys/{NO_SUCH}/"), ADMIN_ONLY_404),
    Row("api-key-file", "own", c("GET", lambda w: f"{V1}/scoring-keys/{w.own['key'].pk}/file/"), ADMIN_ONLY),
    Row("api-key-file", "other", c("GET", lambda w: f"{V1}/scoring-keys/{NO_SUCH}/file/"), ADMIN_ONLY_404),
    Row("api-key-publish", "own", c("POST", lambda w: f"{V1}/scoring-keys/{w.own['key'].pk}/publish/"), ADMIN_ONLY),
    Row("api-key-publish", "other", c("POST", lambda w: f"{V1}/scoring-keys/{NO_SUCH}/publish/"), ADMIN_ONLY_404),
    # a malformed wave shows the admin got past the permission check without rescoring the demo
    Row("api-key-rescore", "own", c("POST", lambda w: f"{V1}/scoring-keys/{w.own['key'].pk}/rescore/", lambda w: {"wave": "no wave!"}), ADMIN_ONLY_400),
    Row("api-key-rescore", "other", c("POST", lambda w: f"{V1}/scoring-keys/{w.own['key'].pk}/rescore/", lambda w: {"wave": w.other_wave.code}), ADMIN_ONLY_404),
    Row("api-wave-key", "own", c("POST", lambda w: f"{V1}/waves/{w.wave.code}/instruments/science_literacy/key/", lambda w: {}), ADMIN_ONLY_400),
    Row("api-wave-key", "other", c("POST", lambda w: f"{V1}/waves/{w.other_wave.code}/instruments/science_literacy/key/", lambda w: {}), ADMIN_ONLY_404),
    Row("api-item-analysis", "own", c("GET", lambda w: f"{V1}/item-analysis/?wave={w.wave.code}&instrument=science_literacy&weighted=false"), ADMIN_ONLY),
    Row("api-item-analysis", "other", c("GET", lambda w: f"{V1}/item-analysis/?wave={w.other_wave.code}&instrument=science_literacy"), ADMIN_ONLY_404),
    # waves and weights
    Row("api-waves", "own", c("GET", lambda w: f"{V1}/waves/"), STAFF, only_own_county_waves),
    Row("api-wave", "own", c("GET", lambda w: f"{V1}/waves/{w.wave.code}/"), STAFF),
    Row("api-wave", "other", c("GET", lambda w: f"{V1}/waves/{w.other_wave.code}/"), exp(404, 404, 404, 404, 404)),
    Row("api-weight-sets", "own", c("GET", lambda w: f"{V1}/weight-sets/"), REPORT_RIGHTS, weight_sets_of_county),
    Row("api-weight-sets", "own", c("POST", lambda w: f"{V1}/weight-sets/", lambda w: {"wave": w.wave.code, "instrument": "science_literacy"}), ADMIN_ONLY),
    Row("api-weight-sets", "other", c("POST", lambda w: f"{V1}/weight-sets/", lambda w: {"wave": w.other_wave.code, "instrument": "science_literacy"}), exp(404, 404, 404, 404, 404)),
    Row("api-weight-set", "own", c("GET", lambda w: f"{V1}/weight-sets/{w.own['weight_set'].pk}/"), REPORT_RIGHTS),
    Row("api-weight-set", "other", c("GET", lambda w: f"{V1}/weight-sets/{w.other['weight_set'].pk}/"), exp(404, 404, 403, 404, 404)),
    Row("api-estimates", "own", c("GET", lambda w: f"{V1}/estimates/?wave={w.wave.code}&indicator=science_literacy&by=town", name="by_town"), REPORT_RIGHTS, estimate_cells_in_scope),
    Row("api-estimates", "own", c("GET", lambda w: f"{V1}/estimates/?wave={w.wave.code}&indicator=science_literacy&by=sex", name="by_sex"), REPORT_RIGHTS, estimate_by_sex_split_by_town),
    Row("api-estimates", "other", c("GET", lambda w: f"{V1}/estimates/?wave={w.other_wave.code}&indicator=science_literacy"), exp(404, 404, 404, 404, 404)),
    # responses, decisions, audit
    Row("api-responses", "own", c("GET", lambda w: f"{V1}/responses/?wave={w.wave.code}&page_size=500&review=approved"), REVIEWERS, responses_in_scope),
    Row("api-review-decisions", "own", c("GET", lambda w: f"{V1}/review-decisions/?reason=matrix&page_size=500"), REVIEWERS, decisions_in_scope),
    Row("api-audit-events", "own", c("GET", lambda w: f"{V1}/audit-events/"), ADMIN_ONLY, audit_is_listed),
    # fieldwork
    Row("api-frames", "own", c("GET", lambda w: f"{V1}/frames/"), FIELD_MONITORS, frames_of_county),
    Row("api-frames", "own", c("POST", lambda w: f"{V1}/frames/", lambda w: {}, multipart=True), ADMIN_ONLY_400),
    Row("api-frame-households", "own", c("POST", lambda w: f"{V1}/frames/{w.own['frame'].pk}/households/", lambda w: {}, multipart=True), ADMIN_ONLY_400),
    Row("api-frame-households", "other", c("POST", lambda w: f"{V1}/frames/{w.other['frame'].pk}/households/", lambda w: {}, multipart=True), exp(404, 404, 404, 404, 404)),
    Row("api-designs", "own", c("GET", lambda w: f"{V1}/waves/{w.wave.code}/designs/"), FIELD_MONITORS),
    Row("api-designs", "own", c("POST", lambda w: f"{V1}/waves/{w.wave.code}/designs/", lambda w: {}), ADMIN_ONLY_400),
    Row("api-designs", "other", c("GET", lambda w: f"{V1}/waves/{w.other_wave.code}/designs/"), exp(404, 404, 404, 404, 404)),
    Row("api-draw-create", "own", c("POST", lambda w: f"{V1}/designs/{w.own['design'].pk}/draws/", lambda w: {"seed": "x"}), ADMIN_ONLY_400),
    Row("api-draw-create", "other", c("POST", lambda w: f"{V1}/designs/{w.other['design'].pk}/draws/", lambda w: {"seed": 1}), exp(404, 404, 404, 404, 404)),
    Row("api-draw", "own", c("GET", lambda w: f"{V1}/draws/{w.own['draw'].pk}/"), FIELD_MONITORS),
    Row("api-draw", "other", c("GET", lambda w: f"{V1}/draws/{w.other['draw'].pk}/"), exp(404, 404, 404, 404, 404)),
    Row("api-cases", "own", c("GET", lambda w: f"{V1}/cases/?wave={w.wave.code}&page_size=500"), exp(200, 200, 200, 403, 403), cases_in_scope),
    # an enumerator nobody may be given shows the caller was allowed to reach the case
    Row("api-cases-assign", "own", c("POST", lambda w: f"{V1}/cases/assign/", lambda w: {"cases": [w.own["case"].code], "enumerator": "nobody"}), exp(400, 400, 403, 403, 403)),
    Row("api-cases-assign", "other", c("POST", lambda w: f"{V1}/cases/assign/", lambda w: {"cases": [w.other["case"].code], "enumerator": "nobody"}), exp(400, 404, 403, 403, 403)),
    Row("api-case-roster", "own", c("POST", lambda w: f"{V1}/cases/{w.own['case'].code}/roster/", lambda w: {}), exp(400, 400, 400, 404, 404)),
    Row("api-case-roster", "other", c("POST", lambda w: f"{V1}/cases/{w.other['case'].code}/roster/", lambda w: {}), exp(400, 404, 404, 404, 404)),
    Row("api-visits-sync", "own", c("POST", lambda w: f"{V1}/visits/sync/", lambda w: {}), exp(400, 400, 400, 403, 403)),
    Row("api-visits-sync", "other", c("POST", lambda w: f"{V1}/visits/sync/", lambda w: {"visits": [{**VISIT, "case": w.other["case"].code}]}), exp(200, 200, 200, 403, 403), visit_refused),
    Row("api-rates", "own", c("GET", lambda w: f"{V1}/rates/?wave={w.wave.code}"), exp(200, 200, 200, 403, 403)),
    Row("api-rates", "other", c("GET", lambda w: f"{V1}/rates/?wave={w.other_wave.code}"), exp(404, 404, 404, 403, 403)),
    Row("api-response-review", "own", c("POST", lambda w: f"{V1}/responses/{w.own['response'].pk}/review/", lambda w: {}), exp(400, 400, 404, 404, 404)),
    Row("api-response-review", "other", c("POST", lambda w: f"{V1}/responses/{w.other['response'].pk}/review/", lambda w: {}), exp(400, 404, 404, 404, 404)),
    Row("field-bundle", "own", c("POST", lambda w: "/field/api/bundle/"), exp(200, 200, 200, 403, 403), field_bundle_of_own_cases),
    # reports
    Row("api-reports", "own", c("GET", lambda w: f"{V1}/reports/?wave={w.wave.code}"), REPORT_RIGHTS, reports_in_scope),
    Row("api-reports", "own", c("POST", lambda w: f"{V1}/reports/", lambda w: {"wave": w.wave.code, "kind": "town", "code": "no-such-town"}), exp(404, 404, 403, 404, 404)),
    Row("api-reports", "other", c("POST", lambda w: f"{V1}/reports/", lambda w: {"wave": w.wave.code, "kind": "town", "code": w.town_b.code, "format": "csv"}), exp(200, 403, 403, 200, 403)),
    Row("api-report-download", "own", c("GET", lambda w: f"{V1}/reports/{w.own['report'].pk}/download/"), REPORT_RIGHTS),
    Row("api-report-download", "other", c("GET", lambda w: f"{V1}/reports/{w.other['town_report'].pk}/download/", name="town_b"), exp(200, 403, 403, 200, 403)),
    Row("api-report-download", "other", c("GET", lambda w: f"{V1}/reports/{w.other['report'].pk}/download/", name="other_county"), exp(404, 404, 404, 404, 404)),
    Row("api-report-batches", "own", c("POST", lambda w: f"{V1}/report-batches/", lambda w: {"wave": w.wave.code}), exp(202, 403, 403, 202, 403)),
    Row("api-report-batches", "other", c("POST", lambda w: f"{V1}/report-batches/", lambda w: {"wave": w.other_wave.code}), exp(404, 404, 403, 404, 404)),
    Row("api-report-batch", "own", c("GET", lambda w: f"{V1}/report-batches/{w.own['batch'].pk}/"), exp(200, 403, 403, 200, 403)),
    Row("api-report-batch", "other", c("GET", lambda w: f"{V1}/report-batches/{w.other['batch'].pk}/"), exp(404, 404, 404, 404, 404)),
    Row("api-report-batch-download", "own", c("GET", lambda w: f"{V1}/report-batches/{w.own['batch'].pk}/download/"), exp(200, 403, 403, 200, 403)),
    Row("api-report-batch-download", "other", c("GET", lambda w: f"{V1}/report-batches/{w.other['batch'].pk}/download/"), exp(404, 404, 404, 404, 404)),
    # the schema and its docs pages are public (they describe, they hold no data)
    Row("api-ping", "public", c("GET", lambda w: f"{V1}/ping/"), everyone(200)),
    Row("api-schema", "public", c("GET", lambda w: "/api/schema/"), everyone(200)),
    Row("api-docs", "public", c("GET", lambda w: "/api/docs/"), everyone(200)),
    Row("api-redoc", "public", c("GET", lambda w: "/api/docs/redoc/"), everyone(200)),
]


@pytest.fixture(scope="module")
def world_county(demo_county: Any) -> int:
    return int(demo_county.county_id)


@pytest.fixture
def world(world_county: int, db: None) -> Iterator[World]:
    yield world_build(world_county)


def _send(w: World, role: str, call: Call, *, multipart: bool = False) -> Any:
    method, path, body = call
    client = w.client(role)
    if method == "GET":
        return client.get(path)
    if multipart:
        return client.post(path, body or {}, format="multipart")
    return client.generic(method, path, data=json.dumps(body if body is not None else {}), content_type="application/json")


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_scope_matrix(world: World, row: Row) -> None:
    """Each role gets exactly the status the table gives (and a list shows only what it should)."""
    wrong = []
    for role in ROLES:
        response = _send(world, role, row.call(world), multipart=row.call.multipart)
        if response.status_code != row.expect[role]:
            wrong.append(f"{role}: {response.status_code} (expected {row.expect[role]}) {getattr(response, 'content', b'')[:200]!r}")
        elif row.check is not None and response.status_code == 200:
            row.check(world, role, response.json())
    assert not wrong, "\n".join(wrong)


def _api_routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield (name, route) of every URL whose view is a DRF APIView, however deeply included."""
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _api_routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            view = getattr(p.callback, "cls", None) or getattr(p.callback, "view_class", None)
            if isinstance(view, type) and issubclass(view, APIView):
                yield str(p.name), prefix + str(p.pattern)


def test_every_api_endpoint_is_in_the_matrix() -> None:
    routes = dict(_api_routes(get_resolver().url_patterns))
    assert len(routes) >= 40
    missing = sorted(f"{name} ({route})" for name, route in routes.items() if name not in {r.name for r in ROWS})
    assert not missing, f"API endpoints without rows in the scope matrix: {missing}"
    stale = sorted({r.name for r in ROWS} - set(routes))
    assert not stale, f"matrix rows for endpoints that no longer exist: {stale}"


def test_every_method_of_every_endpoint_is_in_the_matrix() -> None:
    """A view that gains a method (say PUT) needs rows for it too."""
    views = {}
    for p in _flatten(get_resolver().url_patterns):
        view = getattr(p.callback, "cls", None)
        if isinstance(view, type) and issubclass(view, APIView):
            views[p.name] = {m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
    covered: dict[str, set[str]] = {}
    for r in ROWS:
        covered.setdefault(r.name, set()).add(_method_of(r))
    missing = {name: sorted(methods - covered.get(name, set())) for name, methods in views.items() if methods - covered.get(name, set())}
    assert not missing, f"methods without rows: {missing}"


def _flatten(patterns: list[Any]) -> Iterator[URLPattern]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _flatten(p.url_patterns)
        elif isinstance(p, URLPattern):
            yield p


def _method_of(row: Row) -> str:
    return row.call.method
