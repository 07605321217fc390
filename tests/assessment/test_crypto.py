"""Encryption of personal data at rest (assessment/crypto.py, assessment/fields.py)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from assessment import crypto
from assessment.crypto import decrypt_text, encrypt_text, rotate_text
from assessment.models import Case, Household

K1 = Fernet.generate_key().decode()
K2 = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def fresh_fernet() -> Iterator[None]:
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def raw(model: type, pk: int, column: str) -> str:
    """Return the value stored in the database, bypassing the field's decryption."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_encrypted_fields_round_trip_and_are_not_stored_in_clear(small_county: Any) -> None:
    case = Case.objects.get(pk=small_county.cases["a1"].pk)
    assert (case.contact_name, case.contact_phone) == ("张秀英", "13912345678")
    for column, plain in (("contact_name", "张秀英"), ("contact_phone", "13912345678")):
        stored = raw(Case, case.pk, column)
        assert plain not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token
        assert decrypt_text(stored) == plain


def test_the_same_value_encrypts_differently_each_time(small_county: Any) -> None:
    a, b = small_county.cases["a1"], small_county.cases["a2"]
    assert raw(Case, a.pk, "contact_phone") != raw(Case, b.pk, "contact_phone")
    assert encrypt_text("x") != encrypt_text("x")


def test_empty_values_stay_empty(small_county: Any) -> None:
    unit = small_county.cases["a1"].sampled_unit.unit
    household = Household.objects.create(unit=unit, code="empty", address="", head_name="")
    assert raw(Household, household.pk, "address") == ""
    household.refresh_from_db()
    assert household.address == "" and household.head_name == ""


def test_updates_through_the_queryset_are_encrypted_too(small_county: Any) -> None:
    case = small_county.cases["a1"]
    Case.objects.filter(pk=case.pk).update(contact_phone="13800000000")
    assert "13800000000" not in raw(Case, case.pk, "contact_phone")
    assert Case.objects.get(pk=case.pk).contact_phone == "13800000000"


def test_value_written_under_k1_is_read_after_adding_k2_and_rotates_to_k2(small_county: Any) -> None:
    unit = small_county.cases["a1"].sampled_unit.unit
    with override_settings(SUYANG_FIELD_KEYS=[K1]):
        household = Household.objects.create(unit=unit, code="rotate", address="平阴县榆山街道1号")
        under_k1 = raw(Household, household.pk, "address")
    with override_settings(SUYANG_FIELD_KEYS=[K2, K1]):
        assert Household.objects.get(pk=household.pk).address == "平阴县榆山街道1号"
        under_k2 = rotate_text(under_k1)
        assert under_k2 != under_k1
        Household.objects.filter(pk=household.pk).update(address=Household.objects.get(pk=household.pk).address)
        rewritten = raw(Household, household.pk, "address")
    with override_settings(SUYANG_FIELD_KEYS=[K2]):  # K1 retired
        assert decrypt_text(under_k2) == "平阴县榆山街道1号"
        assert decrypt_text(rewritten) == "平阴县榆山街道1号"
        assert Household.objects.get(pk=household.pk).address == "平阴县榆山街道1号"
        with pytest.raises(ValueError, match="cannot be opened with the configured keys"):
            decrypt_text(under_k1)
        with pytest.raises(ValueError, match="cannot be opened with the configured keys"):
            rotate_text(under_k1)


def test_reading_with_the_wrong_keys_fails_loudly(small_county: Any) -> None:
    case = small_county.cases["a1"]
    with override_settings(SUYANG_FIELD_KEYS=[K2]):
        with pytest.raises(ValueError, match="cannot be opened"):
            Case.objects.get(pk=case.pk)


def test_no_configured_key_is_an_error() -> None:
    with override_settings(SUYANG_FIELD_KEYS=[]):
        with pytest.raises(RuntimeError, match="SUYANG_FIELD_KEYS is empty"):
            encrypt_text("x")
