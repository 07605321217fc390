"""Role and scope rules (assessment/access.py) on a small two-town county (`small_county`)."""
from __future__ import annotations

from typing import Any

import pytest

from assessment.access import (
    can_view_county_report,
    can_view_town_report,
    is_admin,
    role_of,
    town_scope,
    visible_cases,
    visible_waves,
)

# user → cases they may see (the other county's case x1 is never among them)
VISIBLE_CASES = {
    "admin": {"a1", "a2", "b1"},
    "supervisor_a": {"a1", "a2"},
    "enumerator_a": {"a1", "b1"},  # assigned to them, whatever the town
    "enumerator_a2": {"a2"},
    "county_official": set(),
    "town_official_a": set(),
    "other_admin": {"x1"},
    "no_profile": set(),
    "anonymous": set(),
}


@pytest.mark.parametrize(("user", "expected"), VISIBLE_CASES.items())
def test_visible_cases_follow_the_role(small_county: Any, user: str, expected: set[str]) -> None:
    got = set(visible_cases(small_county.users[user]).values_list("code", flat=True))
    assert got == expected


def test_supervisor_sees_a_reassigned_case_only_through_its_town(small_county: Any) -> None:
    case = small_county.cases["a1"]
    case.town = small_county.town_b
    case.save(update_fields=["town"])
    assert "a1" not in set(visible_cases(small_county.users["supervisor_a"]).values_list("code", flat=True))
    assert "a1" in set(visible_cases(small_county.users["enumerator_a"]).values_list("code", flat=True))


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("admin", None),
        ("county_official", None),
        ("other_admin", None),
        ("supervisor_a", {"town-a"}),
        ("enumerator_a", {"town-a"}),
        ("town_official_a", {"town-a"}),
        ("no_profile", set()),
        ("anonymous", set()),
    ],
)
def test_town_scope_is_none_for_the_whole_county_or_the_users_towns(small_county: Any, user: str, expected: set[str] | None) -> None:
    scope = town_scope(small_county.users[user])
    if expected is None:
        assert scope is None
    else:
        assert scope is not None
        assert set(scope.values_list("code", flat=True)) == expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("admin", True),
        ("county_official", True),
        ("town_official_a", True),
        ("enumerator_a", False),
        ("other_admin", False),  # another county's admin
        ("no_profile", False),
        ("anonymous", False),
    ],
)
def test_county_report_is_open_to_admins_and_officials_of_the_county(small_county: Any, user: str, expected: bool) -> None:
    assert can_view_county_report(small_county.users[user], small_county.wave) is expected


@pytest.mark.parametrize(
    ("user", "town_a", "town_b"),
    [
        ("admin", True, True),
        ("county_official", True, True),
        ("town_official_a", True, False),
        ("supervisor_a", True, False),
        ("enumerator_a", False, False),
        ("other_admin", False, False),
        ("no_profile", False, False),
        ("anonymous", False, False),
    ],
)
def test_town_report_is_refused_outside_the_users_towns(small_county: Any, user: str, town_a: bool, town_b: bool) -> None:
    account = small_county.users[user]
    assert can_view_town_report(account, small_county.wave, small_county.town_a) is town_a
    assert can_view_town_report(account, small_county.wave, small_county.town_b) is town_b


def test_town_report_of_another_countys_town_is_refused_even_to_an_admin(small_county: Any) -> None:
    admin = small_county.users["admin"]
    assert can_view_town_report(admin, small_county.wave, small_county.other_town) is False
    assert can_view_town_report(small_county.users["other_admin"], small_county.other_wave, small_county.other_town)


def test_visible_waves_are_the_users_countys(small_county: Any) -> None:
    for user in ("admin", "enumerator_a", "town_official_a"):
        assert list(visible_waves(small_county.users[user])) == [small_county.wave]
    assert list(visible_waves(small_county.users["other_admin"])) == [small_county.other_wave]
    assert not visible_waves(small_county.users["no_profile"]).exists()
    assert not visible_waves(small_county.users["anonymous"]).exists()


def test_role_of_and_is_admin(small_county: Any) -> None:
    users = small_county.users
    assert role_of(users["supervisor_a"]) == "supervisor"
    assert role_of(users["no_profile"]) is None and role_of(users["anonymous"]) is None
    assert is_admin(users["admin"]) and not is_admin(users["county_official"]) and not is_admin(users["anonymous"])
