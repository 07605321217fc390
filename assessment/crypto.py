"""Encryption of respondents' contact details at rest (Fernet, rotatable keys)."""
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("SUYANG_FIELD_KEYS is empty: set at least one Fernet key.")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    """Return the MultiFernet for the configured keys (first key encrypts)."""
    return _fernet(tuple(settings.SUYANG_FIELD_KEYS))


def encrypt_text(value: str) -> str:
    """Return the ciphertext of VALUE as text."""
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    """Return the plaintext of TOKEN; raise ValueError when no key opens it."""
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ValueError("encrypted value cannot be opened with the configured keys") from exc


def rotate_text(token: str) -> str:
    """Return TOKEN re-encrypted under the primary key; raise ValueError when no key opens it."""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise ValueError("encrypted value cannot be opened with the configured keys") from exc
