"""Field key rotation: `manage.py rotate_field_key` re-encrypts every encrypted field with the newest key."""
from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from assessment import crypto
from assessment.key_rotation import encrypted_columns
from assessment.models import Case, Household, HouseholdMember
from questionnaires.models import Invitation

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
TEST_KEY = "5ZoI2HUU8b3Hq3Y2tT4XXW2xLwdbQ2u7tb5a9Pn3Vqk="  # config/settings/test.py


@pytest.fixture(autouse=True)
def fresh_fernet() -> Iterator[None]:
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def stored(model: type, column: str) -> dict[int, str]:
    """Return {id: value as stored} of a column, bypassing the field's decryption."""
    table, col = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {col} FROM {table} WHERE {col} <> ''")
        return dict(cursor.fetchall())


COLUMNS = [(Case, "contact_name"), (Case, "contact_phone"), (Household, "address"), (Household, "head_name"),
           (HouseholdMember, "name"), (Invitation, "token")]


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_field_key", *args, stdout=out)
    return out.getvalue()


def test_every_encrypted_field_of_the_project_is_found() -> None:
    found = {(m, n) for m, names in encrypted_columns() for n in names}
    assert set(COLUMNS) <= found  # and any encrypted field added later, without a list to update


def test_rotation_moves_every_value_to_the_newest_key_so_the_old_one_can_be_retired(settings: Any, contacts_county: Any) -> None:
    plain = {(m, c): {pk: crypto.decrypt_text(v) for pk, v in stored(m, c).items()} for m, c in COLUMNS}
    # The fixture wrote under the test key: first move everything under OLD, as last year's data.
    settings.SUYANG_FIELD_KEYS = [OLD, TEST_KEY]
    rotate("--batch-size", "2")
    under_old = {(m, c): stored(m, c) for m, c in COLUMNS}
    # 4 cases × (name, phone), 3 households × (address, head), 4 named members, 2 invitations.
    assert sum(len(v) for v in under_old.values()) == 8 + 6 + 4 + 2

    settings.SUYANG_FIELD_KEYS = [NEW, OLD]
    with pytest.raises(CommandError, match=r"values are still under an older key"):
        rotate("--check")
    assert {(m, c): stored(m, c) for m, c in COLUMNS} == under_old  # --check writes nothing
    out = rotate("--batch-size", "3")
    assert "assessment.Case.contact_phone: 4 values, 4 rotated, 0 already under the newest key" in out
    assert "Every encrypted value is under the newest key." in out
    checked = rotate("--check")
    every = sum(len(names) for _, names in encrypted_columns())
    assert checked.count(" 0 to rotate") == every and "Every encrypted value is under the newest key." in checked

    settings.SUYANG_FIELD_KEYS = [NEW]  # OLD retired
    for (model, column), values in plain.items():
        after = stored(model, column)
        assert set(after) == set(values)
        for pk, token in after.items():
            assert token != under_old[(model, column)][pk]
            assert Fernet(NEW.encode()).decrypt(token.encode()).decode() == values[pk]
    case = Case.objects.get(code="rt-2024-1")
    assert (case.contact_name, case.contact_phone) == ("联系人20241", "139123420241")
    assert Household.objects.get(code="h2024-1").address == "李庄村2024-1号"


def test_a_value_no_configured_key_opens_is_named_and_its_batch_left_as_it_was(settings: Any, contacts_county: Any) -> None:
    case = contacts_county.cases["rt-2025-1"]
    settings.SUYANG_FIELD_KEYS = [OLD]
    Case.objects.filter(pk=case.pk).update(contact_phone="13800000000")  # under OLD only
    before = stored(Case, "contact_phone")
    settings.SUYANG_FIELD_KEYS = [NEW, TEST_KEY]  # OLD forgotten
    with pytest.raises(CommandError, match=rf"assessment.Case id={case.pk} field contact_phone: no configured key opens"):
        rotate("--batch-size", "100")
    assert stored(Case, "contact_phone") == before


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        rotate("--batch-size", "0")
