"""A software WebAuthn authenticator and the browser around it: an ES256 key pair per credential
(made with ``cryptography``), "none" attestation, the authenticator data and client data as a real
platform authenticator and browser produce them (WebAuthn Level 2, sections 6.1 and 5.8.1)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40  # user present, user verified, attested credential data included


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class StoredKey:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Holds its credentials' private keys, as a security key does; ``origin`` is the page's."""

    origin: str
    keys: dict[bytes, StoredKey] = field(default_factory=dict)

    def _cose_key(self, key: ec.EllipticCurvePrivateKey) -> bytes:
        numbers = key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False},
                          separators=(",", ":")).encode()

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create({publicKey}) answered: a new key pair and its attestation."""
        public_key = options["publicKey"]
        rp_id = public_key["rp"]["id"]
        excluded = {unb64url(c["id"]) for c in public_key.get("excludeCredentials") or []}
        if excluded & set(self.keys):
            raise RuntimeError("InvalidStateError: this authenticator already holds an excluded credential")
        credential_id = os.urandom(32)
        key = ec.generate_private_key(ec.SECP256R1())
        stored = StoredKey(credential_id, key, rp_id, unb64url(public_key["user"]["id"]))
        self.keys[credential_id] = stored
        attested = b"\x00" * 16 + struct.pack(">H", len(credential_id)) + credential_id + self._cose_key(key)
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([UP | UV | AT]) + struct.pack(">I", 0) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", public_key["challenge"])
        return {"id": b64url(credential_id), "rawId": b64url(credential_id), "type": "public-key",
                "response": {"attestationObject": b64url(attestation), "clientDataJSON": b64url(client_data),
                             "transports": ["internal"]},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}

    def get(self, options: dict[str, Any], rp_id: str | None = None) -> dict[str, Any]:
        """navigator.credentials.get({publicKey}) answered by the first credential allowed (or any for
        this relying party: a discoverable credential), its counter moved on by one."""
        public_key = options["publicKey"]
        rp_id = rp_id or public_key["rpId"]
        allowed = [unb64url(c["id"]) for c in public_key.get("allowCredentials") or []]
        candidates = [k for k in self.keys.values() if k.rp_id == rp_id and (not allowed or k.credential_id in allowed)]
        if not candidates:
            raise RuntimeError("NotAllowedError: no credential for this relying party")
        stored = candidates[0]
        stored.sign_count += 1
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([UP | UV]) + struct.pack(">I", stored.sign_count)
        client_data = self._client_data("webauthn.get", public_key["challenge"])
        signature = stored.private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(stored.credential_id), "rawId": b64url(stored.credential_id), "type": "public-key",
                "response": {"authenticatorData": b64url(auth_data), "clientDataJSON": b64url(client_data),
                             "signature": b64url(signature), "userHandle": b64url(stored.user_handle)},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}
