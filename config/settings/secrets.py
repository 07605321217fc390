"""Per-checkout secrets for local runs, so nothing secret is committed."""
import base64
import secrets
from pathlib import Path


def local_secret(var_dir: Path, name: str, *, fernet: bool = False) -> str:
    """Return the secret stored in var/NAME, creating it on first use."""
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    raw = secrets.token_bytes(32)
    value = base64.urlsafe_b64encode(raw).decode() if fernet else secrets.token_urlsafe(50)
    path.write_text(value)
    path.chmod(0o600)
    return value
