"""A real OpenLDAP directory for LDAP tests: Debian's slapd (installed with apt-get when missing),
started on a free loopback port with a configuration (cn=config, in a temporary slapd.d made with
slapadd) and an MDB database of its own, stopped after."""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
BASE_DN = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "directory-admin-secret"
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}

CONFIG = """dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {folder}/slapd.pid
olcTLSCertificateFile: {folder}/cert.pem
olcTLSCertificateKeyFile: {folder}/key.pem

dn: cn=module,cn=config
objectClass: olcModuleList
cn: module
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {base}
olcRootDN: {admin}
olcRootPW: {password}
olcDbDirectory: {folder}/data
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read
"""


def _person(uid: str, number: int, name: str, mail: str, password: str) -> str:
    first, last = name.split(" ", 1)
    return (f"dn: uid={uid},ou=people,{BASE_DN}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
            f"uid: {uid}\ncn: {name}\nsn: {last}\ngivenName: {first}\ndisplayName: {name}\nmail: {mail}\n"
            f"mobile: +1555010{number % 10}\nuidNumber: {number}\ngidNumber: 100\nhomeDirectory: /home/{uid}\n"
            f"userPassword: {password}\n")


# Three people; their passwords are their uid followed by "-directory-pw".
PEOPLE = [("ada", 2001, "Ada Lovelace", "ada@example.org"), ("grace", 2002, "Grace Hopper", "grace@example.org"),
          ("linus", 2003, "Linus Torvalds", "linus@example.org")]
DATA = "\n".join([
    f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
    f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people\n",
    *(_person(uid, number, name, mail, f"{uid}-directory-pw") for uid, number, name, mail in PEOPLE),
])


def password_of(uid: str) -> str:
    return f"{uid}-directory-pw"


@dataclass(frozen=True)
class Directory:
    port: int
    tls_port: int  # ldaps://, with a self-signed certificate for 127.0.0.1

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"


def ensure_slapd() -> None:
    if Path(SLAPD).exists() and Path(SLAPADD).exists():
        return
    if shutil.which("apt-get") is None:
        pytest.skip("no slapd and no apt-get to install it")
    subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "slapd", "ldap-utils"], check=True, capture_output=True,
                   timeout=900, env=APT_ENV)


def _self_signed(folder: Path) -> None:
    """A key and a self-signed certificate for 127.0.0.1, which no trust store knows."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                                       serialization.NoEncryption()))


def _slapadd(args: list[str], ldif: str) -> None:
    done = subprocess.run([SLAPADD, *args], input=ldif, text=True, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "slapd exited at start"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise AssertionError("slapd did not start listening")


@contextlib.contextmanager
def running_directory(folder: Path) -> Iterator[Directory]:
    ensure_slapd()
    config = folder / "slapd.d"
    config.mkdir(parents=True)
    _self_signed(folder)
    (folder / "data").mkdir()
    _slapadd(["-n", "0", "-F", str(config)], CONFIG.format(folder=folder, base=BASE_DN, admin=ADMIN_DN,
                                                            password=ADMIN_PASSWORD))
    _slapadd(["-n", "1", "-F", str(config)], DATA)
    port, tls_port = free_port(), free_port()
    process = subprocess.Popen([SLAPD, "-d", "0", "-F", str(config), "-h",
                                f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, process)
        _wait_for(tls_port, process)
        yield Directory(port, tls_port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
