"""Model fields that keep personal data encrypted in the database."""
from typing import Any

from django.db import models

from assessment.crypto import decrypt_text, encrypt_text


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python code sees plaintext.

    Encrypted values cannot be searched or ordered by the database, by design.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(str(value))
