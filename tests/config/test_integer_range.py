"""Out-of-range integers are refused by the database, never stored wrapped (config/postgresql).

On PostgreSQL with server-side binding, Django's stock backend hands psycopg a smallint column's
value as a 2-byte integer, and 70000 was stored as 4464.  On SQLite the column is unbounded, so
these checks hold on PostgreSQL only.
"""
from __future__ import annotations

import pytest
from django.db import DataError, connection, transaction

from assessment.models import County, Frame, FrameUnit, Town

pytestmark = pytest.mark.django_db


@pytest.fixture
def county() -> County:
    return County.objects.create(code="990001", name_zh="界县", name_en="Bound County")


def test_values_in_range_are_stored_as_given(county: County) -> None:
    frame = Frame.objects.create(county=county, name="f", kind=Frame.Kind.AREA, reference_year=2024)
    assert Frame.objects.get(pk=frame.pk).reference_year == 2024


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite integers have no column width")
@pytest.mark.parametrize("year", [32768, 70000, -40000])
def test_a_smallint_out_of_range_is_refused_not_wrapped(county: County, year: int) -> None:
    with pytest.raises(DataError, match="out of range"), transaction.atomic():
        Frame.objects.create(county=county, name="f", kind=Frame.Kind.AREA, reference_year=year)
    assert not Frame.objects.filter(county=county).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite integers have no column width")
def test_an_integer_out_of_range_is_refused_in_an_update_and_a_bulk_insert(county: County) -> None:
    frame = Frame.objects.create(county=county, name="f", kind=Frame.Kind.AREA, reference_year=2024)
    town = Town.objects.create(county=county, code="bt", name_zh="界镇", name_en="Bound", kind=Town.Kind.TOWN, order=0)
    with pytest.raises(DataError, match="out of range"), transaction.atomic():
        Frame.objects.filter(pk=frame.pk).update(reference_year=99999)
    unit = dict(frame=frame, town=town, urban_rural="rural", measure_of_size=1.0, name="n")
    with pytest.raises(DataError), transaction.atomic():  # psycopg: "cannot dump lists of mixed types"
        FrameUnit.objects.bulk_create([FrameUnit(code="a", households=10, **unit), FrameUnit(code="b", households=2**40, **unit)])
    assert Frame.objects.get(pk=frame.pk).reference_year == 2024 and not FrameUnit.objects.filter(frame=frame).exists()
    assert connection.vendor == "postgresql"
