"""PHI helpers in one place: the installation's token key, patient tokens, and checks that keep
names out of places meant for tokens. The agent's pseudonymizer builds on the same key.

A patient token is a keyed hash (HMAC-SHA256) of the normalized name and date of birth: stable
for one installation, meaningless without the key, so audit entries and PA tracking can refer to a
patient without holding PHI. The key lives in the data directory, created on first use, mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from datetime import date
from pathlib import Path

from assistant.store import Store

KEY_FILE = "patient_ref.key"
_LOOKS_LIKE_NAME = re.compile(r"^[A-Za-z]+[ ,]+[A-Za-z]+")


def token_key(data_dir: Path) -> bytes:
    """The per-installation secret (32 random bytes), created atomically on first use."""
    path = Path(data_dir) / KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)  # first writer wins; a concurrent one keeps the winner's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()


def keyed_digest(key: bytes, text: str, length: int = 16) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:length]


def patient_token(key: bytes, name: str | None, dob: date | None) -> str | None:
    """``pt_<16 hex>`` for a patient known by name and/or date of birth; None when neither is known."""
    if not name and not dob:
        return None
    ident = f"{' '.join((name or '').lower().split())}|{dob.isoformat() if dob else ''}"
    return "pt_" + keyed_digest(key, ident)


def store_patient_token(store: Store, name: str | None, dob: date | None) -> str | None:
    return patient_token(token_key(store.data_dir), name, dob)


def looks_like_a_name(value: str) -> bool:
    """True for "Mary Jones" or "Jones, Mary": used to refuse names where a token belongs."""
    return bool(_LOOKS_LIKE_NAME.match(value.strip()))
