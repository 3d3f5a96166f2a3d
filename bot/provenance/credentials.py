"""The installation's signing identity: a root CA and an ES256 signing certificate made on first run.

The folder (the data dir's ``keys/``) holds three files:

- ``signing-key.pem``: the end entity's private key, PKCS#8, mode 0600;
- ``signing-chain.pem``: the end-entity certificate, then the root (what goes into each manifest);
- ``root-ca.pem``: the root alone, the trust anchor a reader imports to trust this installation.

The root's private key is not kept: it signs the one end-entity certificate and is dropped, so
a copy of the folder cannot mint further identities under the same root.

`rotate_credentials` replaces the identity with a fresh one and keeps the old certificates (not
the old key) in ``retired/<UTC time>/``; their roots stay trusted, so earlier pieces still read as
made here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import c2pa
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bot.provenance.errors import CredentialsError, ProvenanceError

__all__ = [
    "CHAIN_FILE",
    "KEY_FILE",
    "ROOT_FILE",
    "Credentials",
    "SigningIdentity",
    "c2pa_settings",
    "load_or_create_credentials",
    "retired_roots",
    "rotate_credentials",
]

log = logging.getLogger(__name__)

KEY_FILE = "signing-key.pem"
CHAIN_FILE = "signing-chain.pem"
ROOT_FILE = "root-ca.pem"
RETIRED_FOLDER = "retired"
_FILES = (KEY_FILE, CHAIN_FILE, ROOT_FILE)
END_ENTITY_YEARS = 10
ROOT_YEARS = 20
_CLOCK_SKEW = dt.timedelta(
    hours=1
)  # a reader whose clock is a little behind still accepts the cert
_MAX_INSTALLATION = 64  # X.509 upper bound for an organizational unit name


@dataclass(frozen=True, slots=True)
class Credentials:
    """The PEM bytes of one installation's signing identity. Plain data: safe to pickle into a
    worker process, which builds its own `SigningIdentity` from it."""

    folder: Path
    key_pem: bytes = field(repr=False)
    chain_pem: bytes
    root_pem: bytes
    retired_root_pems: tuple[bytes, ...] = ()  # oldest first; still trusted, never signed with

    @property
    def end_entity(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.chain_pem)[0]

    @property
    def root(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.root_pem)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the end-entity certificate, hex: names this identity in logs and reports."""
        return self.end_entity.fingerprint(hashes.SHA256()).hex()


def load_or_create_credentials(folder: Path, installation: str) -> Credentials:
    """Load the signing identity from `folder`, creating it there on first run.

    Creation is all-or-nothing: the files are written into a private temporary folder beside
    `folder` and renamed into place in one step, so a process starting at the same moment either
    sees no identity or a complete one, never a key from one run and a certificate from another
    (the loser of a race discards its own and loads the winner's). An existing but incomplete or
    damaged set is never replaced (files may already have been signed with it): it raises
    CredentialsError saying what is wrong. The roots of retired identities come along.
    """
    installation = _installation_name(installation)
    folder = Path(folder)
    if not _holds_any(folder):
        _create(folder, installation)
    return _load(folder)


def rotate_credentials(
    folder: Path, installation: str, *, now: dt.datetime | None = None
) -> Credentials:
    """Retire the signing identity in `folder` and put a fresh one (new root, new signer) there.

    The retired chain and root, both public, move to ``retired/<UTC time>/`` (e.g.
    ``retired/20261204T171500Z``) and that root stays trusted, so pieces signed before still
    read as made here. The retired private key is deleted, not archived: after a leak the point
    is that nothing signs with it again (backups made before still hold it). Stop the bot
    first (only the bot signs); it keeps signing with the identity it loaded until restarted.

    The new identity is made in full in a temporary folder inside `folder` before anything
    changes, and put in place by renames; if any step fails the old identity is left usable and
    CredentialsError says what failed.
    """
    installation = _installation_name(installation)
    folder = Path(folder)
    moment = dt.datetime.now(dt.UTC) if now is None else now
    if moment.tzinfo is None:
        raise ValueError(f"now must carry a time zone, got {moment.isoformat()}")
    if not _holds_any(folder):
        raise CredentialsError(
            f"there is no signing identity in {folder} to rotate; the first run creates one"
        )
    current = _load(folder)  # only a sound identity is retired: its root stays a trust anchor
    retired = folder / RETIRED_FOLDER / f"{moment.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    if retired.exists():
        raise CredentialsError(f"{retired} already exists; rotate again a second later")
    try:
        staging = Path(tempfile.mkdtemp(prefix=".rotating-", dir=folder))  # mode 0700
    except OSError as error:
        raise CredentialsError(f"cannot rotate the signing keys in {folder}: {error}") from error
    keep_staging = False
    try:
        _stage_rotation(staging, installation, current)
        retired.parent.mkdir(exist_ok=True)
        # The retired certificates are in place before the current ones change: a crash in
        # between leaves the old identity in use with its root trusted twice, never a root lost.
        (staging / RETIRED_FOLDER).rename(retired)
        _fsync_dir(retired.parent)
        try:
            _swap_in(staging, folder)
        except CredentialsError:
            raise
        except BaseException:
            shutil.rmtree(retired, ignore_errors=True)  # the old identity is back in use
            with contextlib.suppress(OSError):
                retired.parent.rmdir()  # if this was to be the first retirement
            raise
        _fsync_dir(folder)
    except CredentialsError:
        keep_staging = True  # the way back failed: the files in staging are needed to recover
        raise
    except Exception as error:
        raise CredentialsError(
            f"rotating the signing identity in {folder} failed, it is unchanged: {error}"
        ) from error
    finally:
        if not keep_staging:
            shutil.rmtree(staging, ignore_errors=True)  # with it the old private key
    log.info(
        "rotated the signing identity for %r in %s; the old one is retired to %s",
        installation,
        folder,
        retired,
    )
    return _load(folder)


def retired_roots(folder: Path) -> list[x509.Certificate]:
    """The roots of the identities `rotate_credentials` retired in `folder`, oldest first."""
    place = Path(folder) / RETIRED_FOLDER
    if not place.is_dir():
        return []
    roots = []
    # The folders are named by UTC time at a fixed width, so name order is retirement order.
    for retired in sorted(place.iterdir()):
        if retired.name.startswith(".") or not retired.is_dir():
            continue
        path = retired / ROOT_FILE
        try:
            roots.append(x509.load_pem_x509_certificate(path.read_bytes()))
        except (OSError, ValueError) as error:
            raise CredentialsError(
                f"cannot read the retired root {path}: {error}. Restore it from a backup, or "
                f"delete {retired} (files signed with it will then read as signed by another "
                "installation)."
            ) from error
    return roots


def _installation_name(installation: str) -> str:
    installation = installation.strip()
    if not installation or len(installation) > _MAX_INSTALLATION:
        raise ValueError(
            f"installation must be a name of 1 to {_MAX_INSTALLATION} characters, got {installation!r}"
        )
    return installation


def _holds_any(folder: Path) -> bool:
    return any((folder / name).exists() for name in _FILES)


def _create(folder: Path, installation: str) -> None:
    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-new-", dir=parent))  # mode 0700
    except OSError as error:
        raise CredentialsError(f"cannot create signing keys in {parent}: {error}") from error
    try:
        key_pem, chain_pem, root_pem = _issue(installation)
        _write_private(staging / KEY_FILE, key_pem)
        _write_public(staging / CHAIN_FILE, chain_pem)
        _write_public(staging / ROOT_FILE, root_pem)
        _fsync_dir(staging)
        try:
            # rename(2) is atomic and replaces only a missing or empty folder.
            staging.rename(folder)
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY) and _holds_any(folder):
                log.info("another process created the signing identity in %s first", folder)
                return
            raise CredentialsError(
                f"cannot put the new signing keys into {folder}: {error}. "
                "The folder must be missing or empty on first run."
            ) from error
        _fsync_dir(parent)
        log.info("created a new signing identity for %r in %s", installation, folder)
    except OSError as error:
        raise CredentialsError(f"cannot write signing keys in {parent}: {error}") from error
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _stage_rotation(staging: Path, installation: str, current: Credentials) -> None:
    """Write into `staging` the new identity, a copy of `current` under ``previous/`` for the
    way back, and the certificates to retire under ``retired/``."""
    key_pem, chain_pem, root_pem = _issue(installation)
    _write_private(staging / KEY_FILE, key_pem)
    _write_public(staging / CHAIN_FILE, chain_pem)
    _write_public(staging / ROOT_FILE, root_pem)
    previous = staging / "previous"
    previous.mkdir()
    _write_private(previous / KEY_FILE, current.key_pem)
    _write_public(previous / CHAIN_FILE, current.chain_pem)
    _write_public(previous / ROOT_FILE, current.root_pem)
    retired = staging / RETIRED_FOLDER
    retired.mkdir()
    _write_public(retired / CHAIN_FILE, current.chain_pem)
    _write_public(retired / ROOT_FILE, current.root_pem)
    for written in (retired, previous, staging):
        _fsync_dir(written)


def _swap_in(staging: Path, folder: Path) -> None:
    """Replace the identity files in `folder` with those in `staging`, one rename each; if one
    fails, rename the copies in ``staging/previous`` back over those already replaced."""
    replaced: list[str] = []
    try:
        for name in _FILES:
            os.replace(staging / name, folder / name)
            replaced.append(name)
    except BaseException as error:
        try:
            for name in replaced:
                os.replace(staging / "previous" / name, folder / name)
        except OSError as undo_error:
            raise CredentialsError(
                f"rotating the signing identity in {folder} failed ({error}), and so did putting "
                f"the old one back ({undo_error}). Copy the files in {staging / 'previous'} "
                f"into {folder} to restore it."
            ) from undo_error
        raise


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.chmod(path, 0o600)  # whatever the umask said


def _write_public(path: Path, data: bytes) -> None:
    with open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _issue(installation: str) -> tuple[bytes, bytes, bytes]:
    """A fresh root CA and an end-entity signing certificate under it, as PEM."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    signing_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(installation, "Tunesmith root CA")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(_years_after(now, ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    end_entity = (
        x509.CertificateBuilder()
        .subject_name(_name(installation, "Tunesmith signer"))
        .issuer_name(root_name)
        .public_key(signing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(_years_after(now, END_ENTITY_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        # C2PA accepts a claim signer with the e-mail protection or document signing purpose.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signing_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = signing_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    root_pem = root.public_bytes(pem)
    return key_pem, end_entity.public_bytes(pem) + root_pem, root_pem


def _years_after(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year + years, day=28)


def _name(installation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tunesmith"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, installation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, digital_signature: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _load(folder: Path) -> Credentials:
    recover = (
        f"Restore {folder} from a backup, or move it away to create a new signing identity "
        "(files signed before then will read as signed by another installation)."
    )
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise CredentialsError(
            f"the signing identity in {folder} is incomplete: {', '.join(missing)} missing. {recover}"
        )
    key_path = folder / KEY_FILE
    try:
        if key_path.stat().st_mode & 0o077:
            log.warning("%s was readable by others; limiting it to its owner (0600)", key_path)
            os.chmod(key_path, 0o600)
        key_pem = key_path.read_bytes()
        chain_pem = (folder / CHAIN_FILE).read_bytes()
        root_pem = (folder / ROOT_FILE).read_bytes()
    except OSError as error:
        raise CredentialsError(f"cannot read the signing identity in {folder}: {error}") from error
    problem = _check(key_pem, chain_pem, root_pem)
    if problem:
        raise CredentialsError(
            f"the signing identity in {folder} is unusable: {problem}. {recover}"
        )
    pem = serialization.Encoding.PEM
    retired = tuple(root.public_bytes(pem) for root in retired_roots(folder))
    return Credentials(folder, key_pem, chain_pem, root_pem, retired)


def _check(key_pem: bytes, chain_pem: bytes, root_pem: bytes) -> str | None:
    """What is wrong with a key and certificates that should belong together, or None."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:
        return f"{KEY_FILE} is not an unencrypted PEM private key ({error})"
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        return f"{KEY_FILE} is not an ECDSA P-256 key"
    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
        root = x509.load_pem_x509_certificate(root_pem)
    except ValueError as error:
        return f"a certificate file cannot be parsed ({error})"
    if len(chain) != 2 or chain[1] != root:
        return f"{CHAIN_FILE} must hold the signing certificate and then {ROOT_FILE}"
    end_entity = chain[0]
    if end_entity.public_key() != key.public_key():
        return f"{KEY_FILE} does not belong to the certificate in {CHAIN_FILE}"
    try:
        end_entity.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        return f"the signing certificate was not issued by {ROOT_FILE}"
    now = dt.datetime.now(dt.UTC)
    for cert in (end_entity, root):
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return f"{cert.subject.rfc4514_string()} is valid only until {cert.not_valid_after_utc:%Y-%m-%d}"
    return None


def c2pa_settings(trust_anchors_pem: str | None = None) -> dict[str, Any]:
    """c2pa settings for this project: nothing fetched from the network (no remote manifests, no
    OCSP), no thumbnails (audio has none), and `trust_anchors_pem` (one or more PEM certificates,
    concatenated) trusted alongside c2pa's own."""
    settings: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
    }
    if trust_anchors_pem:
        settings["trust"] = {"user_anchors": trust_anchors_pem}
    return settings


class SigningIdentity:
    """The c2pa signer and a context trusting our own root, built once per process and passed in.

    c2pa objects cannot cross a fork, so each worker process builds its own from the picklable
    `Credentials`. Signing from several threads at once shares the one signer safely.
    """

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        info = c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ES256, credentials.chain_pem, credentials.key_pem, None
        )
        try:
            self.signer = c2pa.Signer.from_info(info)
            # One context serves signing (a parent's manifest is judged with our roots trusted)
            # and reading.
            self.context = c2pa.Context.from_dict(c2pa_settings(self.trust_anchor_pem))
        except c2pa.C2paError as error:
            raise ProvenanceError(
                f"c2pa refused the signing identity in {credentials.folder}: {error}"
            ) from error

    @classmethod
    def open(cls, folder: Path, installation: str) -> SigningIdentity:
        """Load (or on first run create) the credentials in `folder` and build the signer."""
        return cls(load_or_create_credentials(folder, installation))

    @property
    def trust_anchor_pem(self) -> str:
        """Our current root and every retired one, as one PEM bundle: what makes a file read
        as "Trusted" (made by this installation, before or after a key rotation)."""
        roots = (self.credentials.root_pem, *self.credentials.retired_root_pems)
        return b"".join(roots).decode("ascii")

    def close(self) -> None:
        for resource in (self.signer, self.context):
            with contextlib.suppress(c2pa.C2paError):
                resource.close()

    def __enter__(self) -> SigningIdentity:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
