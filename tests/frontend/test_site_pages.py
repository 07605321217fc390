"""Home and login pages, and the language switch."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.frontend.html import CJK, main_text, text_of


def english(client: Client) -> Client:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


def test_home_is_in_chinese_by_default(client: Client, db: None) -> None:
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "素养：公民科学素质与健康素养调查评估平台" in html
    assert "工作人员登录" in html
    assert "科学素质 18.5%" in main_text(html)


def test_language_switch_marks_the_page_as_english(client: Client, db: None) -> None:
    html = english(client).get("/").content.decode()
    assert '<html lang="en">' in html
    # The switch now offers the way back to Chinese.
    assert 'value="zh-hans"' in html


def test_home_in_english_has_no_chinese_text(client: Client, db: None) -> None:
    html = english(client).get("/").content.decode()
    body = main_text(html)
    assert not CJK.search(body), body[:200]
    assert "literacy" in body.lower()


def test_login_page_asks_for_username_and_password(client: Client, db: None) -> None:
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "工作人员登录" in html
    assert 'name="username"' in html and 'type="password"' in html
    assert "用户名或密码不正确" not in html


def test_wrong_password_shows_an_error_and_does_not_sign_in(client: Client, staff) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/accounts/login/", {"username": "t_admin", "password": "wrong"})
    assert response.status_code == 200
    assert "用户名或密码不正确，请重试。" in text_of(response.content.decode())
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(("role", "start"), [("admin", "/staff/"), ("supervisor", "/staff/"), ("enumerator", "/field/"), ("county_official", "/reports/")])
def test_right_password_signs_in_and_starts_on_the_roles_page(client: Client, staff, role: str, start: str) -> None:  # type: ignore[no-untyped-def]
    from tests.frontend.conftest import PASSWORD

    user = getattr(staff, role)
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == start
    assert client.session["_auth_user_id"] == str(user.pk)
    page = client.get(start, follow=True)
    assert page.status_code == 200, "each role's start page opens for that role"


def test_a_next_parameter_still_wins_over_the_start_page(client: Client, staff) -> None:  # type: ignore[no-untyped-def]
    from tests.frontend.conftest import PASSWORD

    response = client.post("/accounts/login/?next=/reports/", {"username": staff.admin.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/reports/"


@pytest.mark.parametrize(("role", "shown", "hidden"), [
    ("admin", ["/staff/", "/field/", "/reports/"], []),
    ("supervisor", ["/staff/", "/field/", "/reports/"], []),
    ("enumerator", ["/field/"], ["/reports/", 'href="/staff/"']),
    ("county_official", ["/reports/"], ["/field/", 'href="/staff/"']),
])
def test_the_home_page_links_each_role_to_its_own_pages(client: Client, staff, role: str, shown: list[str], hidden: list[str]) -> None:  # type: ignore[no-untyped-def]
    client.force_login(getattr(staff, role))
    html = client.get("/").content.decode()
    for link in shown:
        assert f'href="{link}' in html, link
    for link in hidden:
        assert link not in html, link
