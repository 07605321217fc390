"""The CSV reader of the command line: fast path, fallback, numbers, labels, errors."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.csvdata import CsvError, CsvTable


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_numbers_and_labels_of_a_simple_file(tmp_path: Path) -> None:
    path = write(tmp_path, "s,w,y,g\nB,1.5,0,x\nA,20,1,y\nB,-3.25,NA,\nA,1e3,,x\n")
    table = CsvTable(path)
    assert table.header == ("s", "w", "y", "g") and table.n_rows == 4
    np.testing.assert_array_equal(table.numbers("w"), [1.5, 20.0, -3.25, 1000.0])
    y = table.numbers("y")
    assert y[:2].tolist() == [0.0, 1.0] and math.isnan(y[2]) and math.isnan(y[3])
    strata = table.labels("s")
    assert strata.labels == ("A", "B") and strata.codes.tolist() == [1, 0, 1, 0]
    groups = table.labels("g")
    assert groups.labels == ("x", "y") and groups.codes.tolist() == [0, 1, -1, 0]


def test_numeric_labels_sort_as_numbers_and_keep_their_type(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c\n10,1.5,007\n2,0.5,7\n1,1.5,12\n")
    table = CsvTable(path)
    assert table.labels("a").labels == (1, 2, 10)
    assert table.labels("a").codes.tolist() == [2, 1, 0]
    assert table.labels("b").labels == (0.5, 1.5)
    # Leading zeros are text: "007" and "7" are different labels.
    assert len(table.labels("c").labels) == 3


def test_parsed_numbers_are_exactly_those_of_float(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    values = np.concatenate([rng.normal(0, 1000, 300), rng.uniform(0, 1, 300)])
    texts = [f"{v:.6f}" for v in values] + [repr(float(v)) for v in values] + ["0", "-0.5", "+2"]
    path = write(tmp_path, "x\n" + "\n".join(texts) + "\n")
    np.testing.assert_array_equal(CsvTable(path).numbers("x"), [float(t) for t in texts])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1,
                max_size=50))
def test_any_float_text_reads_back_exactly(tmp_path_factory: pytest.TempPathFactory,
                                           values: list[float]) -> None:
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_text("x\n" + "\n".join(repr(v) for v in values) + "\n", encoding="utf-8")
    np.testing.assert_array_equal(CsvTable(path).numbers("x"), values)


def test_quoted_fields_crlf_and_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b'\xef\xbb\xbf"s","w"\r\n"A","1.5"\r\n"B","2"\r\n')
    table = CsvTable(path)
    assert table.header == ("s", "w")
    np.testing.assert_array_equal(table.numbers("w"), [1.5, 2.0])
    assert table.labels("s").labels == ("A", "B")


def test_embedded_commas_and_quotes_fall_back_to_the_csv_module(tmp_path: Path) -> None:
    path = write(tmp_path, 'name,w\n"Li, Wei",1\n"say ""hi""",2\nplain,3\n')
    table = CsvTable(path)
    assert table.labels("name").labels == ("Li, Wei", "plain", 'say "hi"')
    np.testing.assert_array_equal(table.numbers("w"), [1.0, 2.0, 3.0])


def test_long_labels_and_many_rows_agree_with_the_csv_module(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 60_000  # several blocks
    names = np.array([f"village-{i:04d}-of-a-long-name" for i in range(300)])
    label = names[rng.integers(0, 300, n)]
    weight = np.round(rng.uniform(1, 500, n), 4)
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["v", "w"])
        writer.writerows(zip(label, weight))
    table = CsvTable(path)
    table.load(numbers=["w"], labels=["v"])
    encoded = table.labels("v")
    assert list(encoded.labels) == sorted(set(label.tolist()))
    np.testing.assert_array_equal(np.array(encoded.labels)[encoded.codes], label)
    np.testing.assert_array_equal(table.numbers("w"), weight)


def test_a_value_that_is_not_a_number_is_named_with_its_row(tmp_path: Path) -> None:
    path = write(tmp_path, "w\n1\n2\nabc\n")
    with pytest.raises(CsvError, match=r"column 'w', row 3: 'abc' is not a number"):
        CsvTable(path).numbers("w")


def test_a_missing_value_can_be_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "w\n1\nNA\n")
    assert math.isnan(CsvTable(path).numbers("w")[1])
    with pytest.raises(CsvError, match=r"column 'w', row 2: missing value"):
        CsvTable(path).numbers("w", allow_missing=False)


def test_a_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(CsvError, match=r"data.csv: no column 'c' \(columns: a, b\)"):
        CsvTable(path).numbers("c")


def test_ragged_rows_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n3\n")
    with pytest.raises(CsvError, match="row 2 has 1 fields but the header has 2"):
        CsvTable(path).numbers("a")


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CsvError, match="empty"):
        CsvTable(write(tmp_path, "\n"))
