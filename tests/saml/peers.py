"""pysaml2 as the other side, on 127.0.0.1: a service provider signing in through Hookdoor's IdP, and an
identity provider signing users into Hookdoor's SP. Each serves its HTTP endpoint from a thread, as a
real peer does; the test's browser (a requests.Session) goes between them."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

XMLSEC = "/usr/bin/xmlsec1"


def ensure_xmlsec1() -> None:
    """Debian's xmlsec1, which pysaml2 (Hookdoor's and the peers') runs for every signature."""
    if shutil.which("xmlsec1"):
        return
    if shutil.which("apt-get") is None:
        pytest.skip("no xmlsec1 and no apt-get to install it")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=600, env=env)
    subprocess.run(["apt-get", "install", "-y", "xmlsec1"], check=True, capture_output=True, timeout=900, env=env)


def form_fields(page: str) -> tuple[str, dict[str, str]]:
    """A page's form (not the header's sign-out form): its action and hidden fields."""
    forms = re.findall(r'<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>', page, re.S)
    found = [(action, body) for action, body in forms if action != "/logout"]
    assert found, page[:500]
    action, body = found[0]
    fields = {k: html.unescape(v) for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', body)}
    return html.unescape(action), fields


class _Handler(BaseHTTPRequestHandler):
    peer: Any

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        status, body = self.peer.get(self.path)
        self._answer(status, body)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        status, body = self.peer.post(self.path, form)
        self._answer(status, body)


def serving(peer: Any) -> Iterator[str]:
    """``peer`` answering HTTP on a free 127.0.0.1 port, for as long as the generator lives: its URL."""
    handler = type("Handler", (_Handler,), {"peer": peer})
    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}"
    finally:
        http.shutdown()
        http.server_close()


def _config_files(folder: Path, certificate: str, private_key: str) -> dict[str, str]:
    key, cert = folder / "key.pem", folder / "cert.pem"
    key.write_text(private_key)
    cert.write_text(certificate)
    return {"key_file": str(key), "cert_file": str(cert)}


# ---- a pysaml2 service provider, signing in through Hookdoor's IdP -------------------------------

@dataclass
class ServiceProvider:
    """pysaml2's Saml2Client with Hookdoor's metadata; its ACS parses and verifies what it is posted."""

    metadata: str
    url: str = ""
    outstanding: dict[str, str] = field(default_factory=dict)
    received: list[Any] = field(default_factory=list)  # the verified responses
    refused: list[str] = field(default_factory=list)

    @property
    def entity_id(self) -> str:
        return f"{self.url}/sp"

    @property
    def acs(self) -> str:
        return f"{self.url}/acs"

    def client(self) -> Any:
        from saml2 import BINDING_HTTP_POST
        from saml2.client import Saml2Client
        from saml2.config import SPConfig

        config = SPConfig()
        config.load({
            "entityid": self.entity_id, "xmlsec_binary": XMLSEC, "metadata": {"inline": [self.metadata]},
            "service": {"sp": {"endpoints": {"assertion_consumer_service": [(self.acs, BINDING_HTTP_POST)]},
                               "want_response_signed": True, "want_assertions_signed": False,
                               "allow_unsolicited": False}},
        })
        return Saml2Client(config)

    def start(self, relay_state: str = "back-to-sp") -> str:
        """The URL of Hookdoor's SSO endpoint with this SP's AuthnRequest (Redirect binding)."""
        from saml2 import BINDING_HTTP_REDIRECT

        request_id, info = self.client().prepare_for_authenticate(relay_state=relay_state,
                                                                  binding=BINDING_HTTP_REDIRECT)
        self.outstanding[request_id] = "/"
        return dict(info["headers"])["Location"]

    def get(self, path: str) -> tuple[int, str]:
        return 404, "no such page"

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        from saml2 import BINDING_HTTP_POST

        try:
            response = self.client().parse_authn_request_response(form.get("SAMLResponse", ""), BINDING_HTTP_POST,
                                                                  outstanding=self.outstanding)
        except Exception as exc:  # noqa: BLE001 - the peer reports whatever pysaml2 refused
            self.refused.append(f"{type(exc).__name__}: {exc}")
            return 400, "refused"
        if response is None:
            self.refused.append("no response")
            return 400, "refused"
        self.received.append(response)
        return 200, f"signed in as {response.name_id.text}; relay {form.get('RelayState', '')}"


# ---- a pysaml2 identity provider, signing users into Hookdoor's SP ----------------------------------

@dataclass
class IdentityProvider:
    """pysaml2's Server answering AuthnRequests at ``/sso`` for one user, its behaviour set by the test:
    signing or not, with its own key or another, for the right audience or another."""

    certificate: str
    private_key: str
    user: str
    url: str = ""
    sign: bool = True
    audience: str = ""  # empty: the requester's
    lifetime_minutes: int = 5  # negative: the assertion expired that long ago
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="saml-idp-")))
    sp_metadata: str = ""

    @property
    def entity_id(self) -> str:
        return f"{self.url}/idp"

    def server(self, signing_key: str | None = None) -> Any:
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.server import Server

        config = IdPConfig()
        files = _config_files(self.folder, self.certificate, signing_key or self.private_key)
        config.load({
            "entityid": self.entity_id, "xmlsec_binary": XMLSEC,
            "metadata": {"inline": [self.sp_metadata]} if self.sp_metadata else {},
            "service": {"idp": {"endpoints": {"single_sign_on_service": [(f"{self.url}/sso", BINDING_HTTP_REDIRECT)]},
                                "policy": {"default": {"lifetime": {"minutes": self.lifetime_minutes},
                                                       "attribute_restrictions": None}}}},
            **files,
        })
        return Server(config=config)

    def get(self, path: str) -> tuple[int, str]:
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID

        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        server = self.server()
        request = server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT).message
        acs, sp = request.assertion_consumer_service_url, request.issuer.text
        self.sp_metadata = _sp_metadata(self.audience or sp, acs)
        server = self.server()
        response = server.create_authn_response(
            {"mail": [f"{self.user}@idp.example"], "displayName": ["IdP Person"], "uid": [self.user]},
            in_response_to=request.id, destination=acs, sp_entity_id=self.audience or sp,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=f"idp-{self.user}"),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_response=self.sign, sign_assertion=self.sign)
        return 200, _post_page(acs, {"SAMLResponse": _b64(str(response)), "RelayState": query.get("RelayState", "")})

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        return 404, "no such page"


def _sp_metadata(entity_id: str, acs: str) -> str:
    return (f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">'
            '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            f'Location="{acs}" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>')


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _post_page(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items())
    return f'<html><body><form method="post" action="{html.escape(action)}">{inputs}</form></body></html>'


def verify_metadata_signature(metadata: str, certificate: str) -> subprocess.CompletedProcess[str]:
    """xmlsec1 itself checks the metadata's enveloped signature against the application's certificate."""
    with tempfile.TemporaryDirectory() as folder:
        document, cert = Path(folder, "metadata.xml"), Path(folder, "cert.pem")
        document.write_text(metadata)
        cert.write_text(certificate)
        return subprocess.run([XMLSEC, "--verify", "--pubkey-cert-pem", str(cert), "--id-attr:ID",
                               "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor", str(document)],
                              capture_output=True, text=True, timeout=60)


def follow(http: requests.Session, response: requests.Response, stop_at: str) -> requests.Response:
    """Redirects followed until one leads to ``stop_at`` (or there are no more)."""
    for _ in range(8):
        location = response.headers.get("location", "")
        if response.status_code not in (302, 303) or not location or location.startswith(stop_at):
            return response
        parts = urlsplit(response.url)
        url = location if location.startswith("http") else f"{parts.scheme}://{parts.netloc}{location}"
        response = http.get(url, allow_redirects=False, timeout=30)
    raise AssertionError("too many redirects")
