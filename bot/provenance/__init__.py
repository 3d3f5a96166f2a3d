"""Provenance inside the file: credit tags and a signed C2PA manifest in every MP3.

Build one `SigningIdentity` per process (it loads, or on first run creates, the installation's
keys, and trusts the roots of identities retired by `rotate_credentials`) and pass it in; then
`sign_mp3(...)` after encoding and `read_provenance(...)` to check.
"""

from bot.provenance.credentials import (
    Credentials,
    SigningIdentity,
    load_or_create_credentials,
    retired_roots,
    rotate_credentials,
)
from bot.provenance.credits import (
    ALL_RIGHTS_RESERVED,
    Credit,
    CreditTags,
    ParentCredit,
    licence_url_for,
    read_credit_tags,
    write_credit_tags,
)
from bot.provenance.errors import CredentialsError, ProvenanceError
from bot.provenance.manifest import Composition, SignedMp3, sign_mp3
from bot.provenance.reading import Ingredient, Provenance, read_provenance

__all__ = [
    "ALL_RIGHTS_RESERVED",
    "Composition",
    "Credentials",
    "CredentialsError",
    "Credit",
    "CreditTags",
    "Ingredient",
    "ParentCredit",
    "Provenance",
    "ProvenanceError",
    "SignedMp3",
    "SigningIdentity",
    "licence_url_for",
    "load_or_create_credentials",
    "read_credit_tags",
    "read_provenance",
    "retired_roots",
    "rotate_credentials",
    "sign_mp3",
    "write_credit_tags",
]
