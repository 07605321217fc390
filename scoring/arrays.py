"""Array types, input checks and label encoding shared by the estimation modules.

Every public function of the estimation engine takes plain array-likes; the helpers here turn
them into validated, read-only numpy arrays and turn label columns (strata, PSU ids, domains,
margins) into dense integer codes ``0 .. L-1`` so that the numeric work is done with
``np.bincount`` instead of Python loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Encoded:
    """Dense integer codes of a label column.

    Attributes
    ----------
    codes : ndarray of intp
        ``codes[i]`` indexes `labels`; -1 marks a missing label.
    labels : tuple
        The distinct non-missing labels, sorted, as Python scalars.
    """

    codes: IntArray
    labels: tuple[object, ...]


#: One label column, or several of the same length whose combinations are the groups; a
#: column may be given already encoded (e.g. by :mod:`scoring.csvdata`).
Grouping = npt.ArrayLike | Encoded | Sequence[npt.ArrayLike | Encoded]

# Integer labels whose range is at most this many times the row count (or this absolute size)
# are encoded with bincount/lookup tables instead of a sort.
_DENSE_RANGE_FACTOR = 4
_DENSE_RANGE_MIN = 1 << 16


ArrayT = TypeVar("ArrayT", bound=npt.NDArray[Any])


def readonly(array: ArrayT) -> ArrayT:
    """Return `array` marked read-only, so that a frozen result cannot be changed in place."""
    array.setflags(write=False)
    return array


def as_float_vector(
    values: npt.ArrayLike,
    name: str,
    *,
    n: int | None = None,
    allow_nan: bool = False,
    allow_inf: bool = False,
    copy: bool = True,
) -> FloatArray:
    """Return `values` as a new 1-D float64 array, checking length and finiteness.

    Parameters
    ----------
    values : array_like
        Numbers; booleans are read as 0/1.
    name : str
        Name used in error messages.
    n : int, optional
        Required length.
    allow_nan : bool
        Whether NaN (a missing value) is allowed.
    allow_inf : bool
        Whether +inf is allowed (-inf never is).
    copy : bool
        Always copy (the default); otherwise a float64 input is returned as it is.

    Raises
    ------
    ValueError
        If the array is not 1-D, has the wrong length, is not numeric, or holds values that
        are not allowed.
    """
    try:
        array = np.array(values, dtype=np.float64, copy=True if copy else None)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers ({exc})") from None
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {array.shape}")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values, got {array.shape[0]}")
    if allow_nan and allow_inf:
        bad = np.isneginf(array)
    elif allow_nan:
        bad = np.isinf(array)
    else:
        bad = ~np.isfinite(array) if not allow_inf else (np.isneginf(array) | np.isnan(array))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: value {float(array[row])!r} at row {row} is not allowed")
    return array


def is_missing(values: npt.NDArray[np.generic]) -> BoolArray:
    """Return a mask of missing labels: NaN in float arrays, None or NaN in object arrays."""
    kind = values.dtype.kind
    if kind in "fc":
        return np.asarray(np.isnan(values), dtype=np.bool_)
    if kind == "O":
        # Element-wise comparisons run in C; x != x is True only for NaN.
        none = np.asarray(values == None, dtype=np.bool_)  # noqa: E711 (element-wise)
        nan = np.asarray(np.not_equal(values, values), dtype=np.bool_)
        return none | nan
    return np.zeros(values.shape[0], dtype=np.bool_)


def encode_labels(values: npt.ArrayLike | Encoded, name: str, *, n: int | None = None) -> Encoded:
    """Return dense codes of a 1-D label column, sorted by label.

    Missing labels (NaN, None) get code -1; the caller decides whether that is an error.

    Raises
    ------
    ValueError
        If the column is not 1-D, has the wrong length or mixes labels that cannot be sorted.
    """
    if isinstance(values, Encoded):
        if n is not None and values.codes.shape[0] != n:
            raise ValueError(f"{name}: expected {n} values, got {values.codes.shape[0]}")
        return values
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {array.shape}")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values, got {array.shape[0]}")
    if array.dtype.kind == "b":
        array = array.astype(np.intp)
    if array.dtype.kind in "iu" and array.size:
        return _encode_integers(array)
    missing = is_missing(array)
    codes = np.full(array.shape[0], -1, dtype=np.intp)
    present = array[~missing] if missing.any() else array
    try:
        uniques, inverse = np.unique(present, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"{name}: labels cannot be compared ({exc})") from None
    codes[~missing] = inverse.reshape(-1)
    return Encoded(codes=codes, labels=tuple(uniques.tolist()))


def _encode_integers(array: npt.NDArray[np.integer]) -> Encoded:
    low = int(array.min())
    high = int(array.max())
    span = high - low + 1
    if span <= max(_DENSE_RANGE_MIN, _DENSE_RANGE_FACTOR * array.shape[0]):
        shifted = (array - low).astype(np.intp)
        present = np.flatnonzero(np.bincount(shifted, minlength=span))
        lookup = np.full(span, -1, dtype=np.intp)
        lookup[present] = np.arange(present.shape[0], dtype=np.intp)
        labels = tuple((present + low).tolist())
        return Encoded(codes=lookup[shifted], labels=labels)
    uniques, inverse = np.unique(array, return_inverse=True)
    return Encoded(codes=inverse.reshape(-1).astype(np.intp), labels=tuple(uniques.tolist()))


def grouping_columns(grouping: Grouping) -> list[npt.ArrayLike | Encoded]:
    """Return the label columns of a grouping: one array, or a list/tuple of arrays."""
    if isinstance(grouping, Encoded):
        return [grouping]
    if isinstance(grouping, (list, tuple)) and grouping and all(
        isinstance(column, (np.ndarray, list, tuple, Encoded)) for column in grouping
    ):
        return list(grouping)
    if isinstance(grouping, np.ndarray) and grouping.ndim != 1:
        raise ValueError(
            "a grouping must be one 1-D array or a list of 1-D arrays, "
            f"got an array of shape {grouping.shape}"
        )
    return [cast(npt.ArrayLike, grouping)]


@dataclass(frozen=True, eq=False)
class EncodedGroups:
    """Dense codes of the combinations of one or more label columns.

    Attributes
    ----------
    codes : ndarray of intp
        Group of each row, -1 where any label is missing.
    keys : tuple of tuple
        For each group, the tuple of its labels (one per column), sorted lexicographically.
    """

    codes: IntArray
    keys: tuple[tuple[object, ...], ...]


def encode_groups(grouping: Grouping, name: str, *, n: int) -> EncodedGroups:
    """Return codes of the label combinations present in the data.

    Parameters
    ----------
    grouping : array_like or sequence of array_like
        One label column or several (e.g. ``[town, urban]``).
    name : str
        Name used in error messages.
    n : int
        Number of rows.
    """
    columns = [
        encode_labels(column, f"{name}[{j}]" if j else name, n=n)
        for j, column in enumerate(grouping_columns(grouping))
    ]
    sizes = [max(len(column.labels), 1) for column in columns]
    missing = np.zeros(n, dtype=np.bool_)
    for column in columns:
        missing |= column.codes < 0
    if len(columns) == 1:
        combined = columns[0].codes
    else:
        if float(np.prod(np.asarray(sizes, dtype=np.float64))) >= 2.0**62:
            raise ValueError(f"{name}: too many label combinations")
        combined = np.zeros(n, dtype=np.intp)
        for column, size in zip(columns, sizes):
            combined = combined * size + np.where(column.codes < 0, 0, column.codes)
        combined[missing] = -1
    present_codes = combined[~missing] if missing.any() else combined
    encoded = _encode_integers(present_codes) if present_codes.size else Encoded(
        codes=np.zeros(0, dtype=np.intp), labels=()
    )
    codes = np.full(n, -1, dtype=np.intp)
    codes[~missing] = encoded.codes
    group_codes = np.asarray(encoded.labels, dtype=np.intp)
    parts = np.unravel_index(group_codes, tuple(sizes)) if len(columns) > 1 else (group_codes,)
    keys = tuple(
        tuple(columns[j].labels[int(parts[j][g])] for j in range(len(columns)))
        for g in range(group_codes.shape[0])
    )
    return EncodedGroups(codes=codes, keys=keys)


def label_text(label: object) -> str:
    """Return a label for messages; tuples of labels are joined with ':'."""
    if isinstance(label, tuple):
        return ":".join(str(part) for part in label)
    return str(label)
