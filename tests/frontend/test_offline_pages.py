"""The offline pieces on the server side: the service worker, what the pages hand their scripts,
the enumerator's page and bundle, and who may have them."""
from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from assessment.models import Case, Role, StaffProfile
from frontend.templatetags.inline_static import inline_script
from frontend.views.offline import SHELL, shell_version
from questionnaires.invitations import invitation_create
from questionnaires.models import Invitation
from tests.frontend.conftest import Staff
from tests.frontend.survey_setup import Survey, sampled_case


def boot_of(html: str) -> dict:  # type: ignore[type-arg]
    found = re.search(r'<script id="boot" type="application/json">(.*?)</script>', html, flags=re.S)
    assert found, "page has no boot data"
    return json.loads(found.group(1))


def logged_in(client: Client, user: object) -> Client:
    client.force_login(user)  # type: ignore[arg-type]
    return client


# --- service worker ----------------------------------------------------------------------------


def test_service_worker_is_served_from_the_root_uncached_with_the_versioned_shell(client: Client, db: None) -> None:
    response = client.get("/sw.js")
    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert response["Service-Worker-Allowed"] == "/"
    assert f'"suyang-shell-{shell_version()}"' in body
    for name in SHELL:
        assert f"/static/{name}" in body
    assert "indexedDB" not in body, "queued answers are the store's, never the worker's caches"


def test_service_worker_refuses_posts(client: Client, db: None) -> None:
    assert client.post("/sw.js").status_code == 405


# --- respondent pages --------------------------------------------------------------------------


def test_consent_page_hands_the_plan_and_eligibility_rules_to_its_script(client: Client, survey: Survey) -> None:
    boot = boot_of(client.get(f"/r/{survey.token}/").content.decode())
    assert boot["token"] == survey.token and boot["code"] == ""
    assert boot["submit"] == f"/api/v1/invitations/{survey.token}/responses/"
    assert [s["code"] for s in boot["plan"]] == ["demographics", "science_literacy", "health_literacy"]
    assert [s["status"] for s in boot["plan"]] == ["todo", "waiting", "waiting"]
    assert boot["plan"][0]["eligible"] is None
    science = boot["plan"][1]["eligible"]
    assert science[0] == "op" and science[1] == "and", "the parsed rule ${age} >= 18 and ${age} <= 69"
    assert boot["sw"] == "/sw.js"
    assert boot["strings"]["next"] == "下一题"


def test_questionnaire_page_carries_its_rules_and_scripts_inline(client: Client, survey: Survey) -> None:
    html = client.get(f"/r/{survey.token}/demographics/").content.decode()
    age = re.search(r'<div class="question[^>]*data-name="age"[^>]*>', html).group(0)  # type: ignore[union-attr]
    assert 'data-type="integer"' in age and 'data-required="1"' in age
    assert "data-constraint=" in age and 'data-cmsg="年龄应在12到100岁之间"' in age
    assert "SuyangStore" in html and "SuyangExpr" in html, "scripts inline: no extra round trips"
    assert '<link rel="stylesheet"' not in html
    assert re.search(r'id="started_at" value="\d{4}-\d\d-\d\dT', html), "the plain form stamps its start"


def test_a_waiting_questionnaire_is_served_to_the_offline_worker_only(client: Client, survey: Survey) -> None:
    url = f"/r/{survey.token}/science_literacy/"
    assert client.get(url)["Location"] == f"/r/{survey.token}/demographics/"
    kept = client.get(url, HTTP_X_SUYANG_PRECACHE="1")
    assert kept.status_code == 200
    assert boot_of(kept.content.decode())["code"] == "science_literacy"
    assert client.post(url, {"client_id": "x"}, HTTP_X_SUYANG_PRECACHE="1").status_code == 302, "answers wait for demographics"


def test_inline_scripts_cannot_end_their_element_early() -> None:
    html = inline_script("frontend/field.js")
    assert html.count("</script>") == 1 and "<\\/" in html


# --- enumerator's page and bundle --------------------------------------------------------------


def test_field_page_needs_a_login(client: Client, db: None) -> None:
    response = client.get("/field/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ["county_official", "town_official", "no_profile"])
def test_field_page_refuses_who_does_no_fieldwork(client: Client, staff: Staff, role: str) -> None:
    assert logged_in(client, getattr(staff, role)).get("/field/").status_code == 403


@pytest.mark.parametrize("role", ["enumerator", "supervisor", "admin"])
def test_field_page_opens_for_field_staff(client: Client, staff: Staff, role: str) -> None:
    response = logged_in(client, getattr(staff, role)).get("/field/")
    assert response.status_code == 200
    boot = boot_of(response.content.decode())
    assert boot["visits"] == "/api/v1/visits/sync/" and boot["roster"] == "/api/v1/cases/CASE/roster/"


def test_bundle_is_refused_to_officials_strangers_and_anonymous(client: Client, staff: Staff) -> None:
    assert client.post("/field/api/bundle/").status_code in (401, 403)  # 401 where an auth scheme asks for credentials
    for user in (staff.county_official, staff.no_profile):
        assert logged_in(Client(), user).post("/field/api/bundle/").status_code == 403


def test_bundle_is_post_only(client: Client, staff: Staff) -> None:
    assert logged_in(client, staff.enumerator).get("/field/api/bundle/").status_code == 405


def test_bundle_holds_only_the_cases_assigned_to_the_user_with_reused_invitations(client: Client, survey: Survey, staff: Staff) -> None:
    other = sampled_case(survey.wave, survey.town, code="T2025-yushan-0002")
    colleague = StaffProfile.objects.create(
        user=type(staff.enumerator).objects.create_user(username="t_enumerator_2", password="x"), role=Role.ENUMERATOR,
        county=survey.county,
    ).user
    Case.objects.filter(pk=survey.case.pk).update(assigned_to=staff.enumerator, kish_u=0.25)
    Case.objects.filter(pk=other.pk).update(assigned_to=colleague)
    client = logged_in(client, staff.enumerator)
    first = client.post("/field/api/bundle/").json()
    assert [c["code"] for c in first["cases"]] == [survey.case.code]
    case = first["cases"][0]
    assert case["kish_u"] == 0.25 and case["ages"] == [15, 69] and case["members"] == []
    assert case["invitation"] == f"/r/{survey.token}/", "the live invitation is reused, not replaced"
    assert case["pages"] == [f"/r/{survey.token}/", f"/r/{survey.token}/demographics/",
                             f"/r/{survey.token}/science_literacy/", f"/r/{survey.token}/health_literacy/"]
    assert {o["value"] for o in first["outcomes"]} >= {"refusal", "non_contact"} and "pending" not in {o["value"] for o in first["outcomes"]}
    assert first["dispositions"]["pending"]
    assert client.post("/field/api/bundle/").json()["cases"][0]["invitation"] == case["invitation"]
    assert Invitation.objects.filter(case=survey.case, revoked=False).count() == 1
    assert not Invitation.objects.filter(case=other).exists(), "nothing issued for a colleague's household"


def test_bundle_issues_an_invitation_where_none_is_live(client: Client, survey: Survey, staff: Staff) -> None:
    Invitation.objects.filter(case=survey.case).update(revoked=True)
    Case.objects.filter(pk=survey.case.pk).update(assigned_to=staff.enumerator)
    case = logged_in(client, staff.enumerator).post("/field/api/bundle/").json()["cases"][0]
    token = case["invitation"].strip("/").split("/")[-1]
    assert token != survey.token and client.get(f"/r/{token}/").status_code == 200
    invitation_create(case=survey.case)  # a reprint elsewhere replaces it; the next bundle follows
    assert logged_in(Client(), staff.enumerator).post("/field/api/bundle/").json()["cases"][0]["invitation"] != case["invitation"]
