"""Certs: the key pair and self-signed X.509 certificate that sign an application's tokens.

Casdoor's ``cryptoAlgorithm`` names the JWS algorithm, and with it the key type: ``RS256/384/512``
(RSA of ``bitSize`` bits), ``PS256/384/512`` (RSA-PSS), ``ES256/384/512`` (P-256, P-384, P-521) and
``EdDSA`` (Ed25519). Keys are made with ``cryptography``; JOSE work (JWKs, signing) is joserfc's.
"""

from __future__ import annotations

import base64
import datetime
import functools
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey, OKPKey, RSAKey

from hookdoor.errors import BadRequest

DEFAULT_ALGORITHM = "RS256"
DEFAULT_BIT_SIZE = 4096
DEFAULT_EXPIRE_YEARS = 20
RSA_BIT_SIZES = (2048, 3072, 4096)
_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class KeyPair:
    certificate: str  # PEM, the self-signed X.509 certificate
    private_key: str  # PEM, PKCS#8
    expire_time: str  # RFC 3339


def algorithm_of(cert: dict[str, Any]) -> str:
    """The cert's JWS algorithm (Casdoor also accepts "RSA" for RS256)."""
    algorithm = cert.get("cryptoAlgorithm") or DEFAULT_ALGORITHM
    algorithm = "RS256" if algorithm == "RSA" else algorithm
    if algorithm not in ALGORITHMS:
        raise BadRequest(f"invalid field cryptoAlgorithm: {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    return algorithm


def _new_private_key(algorithm: str, bit_size: int) -> PrivateKey:
    if algorithm.startswith(("RS", "PS")):
        if bit_size not in RSA_BIT_SIZES:
            raise BadRequest(f"invalid field bitSize: RSA keys are {', '.join(map(str, RSA_BIT_SIZES))} bits, "
                             f"not {bit_size}")
        return rsa.generate_private_key(public_exponent=65537, key_size=bit_size)
    if algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[algorithm]())
    return ed25519.Ed25519PrivateKey.generate()


def generate(cert: dict[str, Any]) -> KeyPair:
    """A new key pair for ``cert`` and a certificate for it, valid ``expireInYears``, named after the cert
    (common name) and its owner (organization), with a random serial number."""
    algorithm = algorithm_of(cert)
    bit_size = int(cert.get("bitSize") or DEFAULT_BIT_SIZE)
    years = int(cert.get("expireInYears") or DEFAULT_EXPIRE_YEARS)
    if not 1 <= years <= 100:
        raise BadRequest(f"invalid field expireInYears: must be between 1 and 100, not {years}")
    key = _new_private_key(algorithm, bit_size)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cert.get("name") or "hookdoor"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, cert.get("owner") or "hookdoor"),
    ])
    now = datetime.datetime.now(datetime.UTC)
    expires = now + datetime.timedelta(days=round(365.25 * years))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(secrets.randbits(63) | 1)
        .not_valid_before(now).not_valid_after(expires)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, None if algorithm == "EdDSA" else _HASHES[algorithm[2:]]())
    )
    return KeyPair(
        certificate=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        private_key=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        expire_time=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def signing_key(cert: dict[str, Any]) -> RSAKey | ECKey | OKPKey:
    """The cert's private key as a joserfc key, with the cert's name as its ``kid`` (as Casdoor)."""
    return _import(cert["privateKey"], cert)


def public_jwk(cert: dict[str, Any]) -> dict[str, Any]:
    """The JWK that verifies the cert's tokens, for ``/.well-known/jwks``."""
    certificate = x509.load_pem_x509_certificate(cert["certificate"].encode())
    public_pem = certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = _import(public_pem.decode(), cert)
    return {**key.as_dict(private=False), "use": "sig", "alg": algorithm_of(cert),
            "x5c": [_der_base64(certificate)]}


def _import(pem: str, cert: dict[str, Any]) -> RSAKey | ECKey | OKPKey:
    algorithm = algorithm_of(cert)
    try:
        return _imported(pem, cert["name"], algorithm)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"cert {cert.get('owner')}/{cert.get('name')}: its key does not match "
                         f"{algorithm} ({exc})") from None


@functools.lru_cache(maxsize=256)
def _imported(pem: str, kid: str, algorithm: str) -> RSAKey | ECKey | OKPKey:
    """Parsed once per key: loading an RSA private key checks it, which took ~80 ms of CPU per token
    (bench/oauth.py), against ~1 ms to sign. Keyed by the PEM itself, so a changed key is parsed anew."""
    key_type = RSAKey if algorithm.startswith(("RS", "PS")) else ECKey if algorithm in _CURVES else OKPKey
    return key_type.import_key(pem, {"kid": kid, "alg": algorithm, "use": "sig"})


def _der_base64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def check_pair(cert: dict[str, Any]) -> None:
    """A cert given with its own key material: both parts parse, and the key is the certificate's."""
    try:
        certificate = x509.load_pem_x509_certificate(cert["certificate"].encode())
    except ValueError:
        raise BadRequest("invalid field certificate: not a PEM X.509 certificate") from None
    try:
        key = serialization.load_pem_private_key(cert["privateKey"].encode(), password=None)
    except (ValueError, TypeError):
        raise BadRequest("invalid field privateKey: not an unencrypted PEM private key") from None
    public = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*public) != certificate.public_key().public_bytes(*public):
        raise BadRequest("invalid field privateKey: it is not the key of this certificate")
    signing_key(cert)  # and the key is of the kind cryptoAlgorithm names
