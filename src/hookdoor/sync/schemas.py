"""Shapes of synchronization: Casdoor's syncer of type Database and its table columns, an LDAP server,
the directory's users, and what one run did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hookdoor.errors import BadRequest

# Casdoor's database types, and the SQLAlchemy dialect and driver each is read with.
DRIVERS = {"mysql": "mysql+pymysql", "postgres": "postgresql+psycopg", "sqlite3": "sqlite"}
DEFAULT_PORTS = {"mysql": 3306, "postgres": 5432}
ALIASES = {"mariadb": "mysql", "postgresql": "postgres", "sqlite": "sqlite3"}

# The user fields a table column may be mapped to (Casdoor's setUserByKeyValue names), with the
# type of the user's JSON field; the JSON field is the name with its first letter lower-cased.
USER_FIELDS: dict[str, type] = {
    **dict.fromkeys(
        ("Name", "CreatedTime", "UpdatedTime", "Id", "ExternalId", "Type", "Password", "PasswordSalt",
         "PasswordType", "DisplayName", "FirstName", "LastName", "Avatar", "Email", "Phone", "CountryCode",
         "Location", "Affiliation", "Title", "IdCardType", "IdCard", "RealName", "Homepage", "Bio", "Tag", "Region",
         "Language", "Gender", "Birthday", "Education", "SignupApplication", "Ldap", "Address"), str),
    **dict.fromkeys(("EmailVerified", "IsAdmin", "IsForbidden", "IsDeleted", "IsVerified"), bool),
    **dict.fromkeys(("Score", "Ranking", "Karma", "UidNumber"), int),
}
# Credentials come from the source and never go back to it (Hookdoor holds no password to send).
PASSWORD_FIELDS = ("Password", "PasswordSalt")


def json_field(casdoor_name: str) -> str:
    return casdoor_name[:1].lower() + casdoor_name[1:]


class TableColumn(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(default="", max_length=200)
    type: str = "string"
    casdoorName: str = ""
    isKey: bool = False
    isHashed: bool = True

    def source_names(self) -> list[str]:
        """The source's columns: Casdoor's "first + last" joins several with a space."""
        return [part.strip() for part in self.name.split("+") if part.strip()]


class DatabaseSyncer(BaseModel):
    """The fields of a syncer a run of type Database uses."""

    model_config = ConfigDict(extra="allow")

    owner: str = ""
    name: str = ""
    organization: str = ""
    type: str = "Database"
    databaseType: str = "mysql"
    host: str = ""
    port: int | str = 0
    user: str = ""
    password: str = ""
    database: str = ""
    table: str = ""
    tableColumns: list[TableColumn] = Field(default_factory=list)
    affiliationTable: str = ""
    avatarBaseUrl: str = ""
    syncInterval: int = 0
    isReadOnly: bool = False
    isEnabled: bool = False

    @property
    def engine_kind(self) -> str:
        return ALIASES.get(self.databaseType, self.databaseType)

    @property
    def port_number(self) -> int:
        try:
            port = int(self.port or 0)
        except ValueError:
            raise BadRequest(f"invalid field port: {self.port!r} is no port number") from None
        return port or DEFAULT_PORTS.get(self.engine_kind, 0)

    @property
    def key_column(self) -> TableColumn:
        """Casdoor's getKeyColumn: the column marked as key, else the one named "id", else the first."""
        marked = [c for c in self.tableColumns if c.isKey]
        if marked:
            return marked[-1]
        return next((c for c in self.tableColumns if c.name == "id"), self.tableColumns[0])


def syncer_of(data: dict[str, Any]) -> DatabaseSyncer:
    try:
        return DatabaseSyncer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadRequest(f"invalid field {where}: {first['msg']}") from None


def mapping_problems(syncer: DatabaseSyncer) -> list[str]:
    """What is wrong with the syncer's mapping, before anything connects."""
    problems = []
    if syncer.engine_kind not in DRIVERS:
        problems.append(f"invalid field databaseType: {syncer.databaseType!r} is not one of mysql, postgres, sqlite3")
    for index, column in enumerate(syncer.tableColumns):
        if column.casdoorName not in USER_FIELDS:
            problems.append(f"invalid field tableColumns[{index}].casdoorName: {column.casdoorName!r} is no user field")
        if not column.source_names():
            problems.append(f"invalid field tableColumns[{index}].name: the source column is missing")
    if syncer.syncInterval < 0:
        problems.append("invalid field syncInterval: must not be negative")
    return problems


class LdapServer(BaseModel):
    """Casdoor's LDAP object: keyed by id, owned by its organization."""

    model_config = ConfigDict(extra="allow")

    id: str = ""
    owner: str = ""
    serverName: str = ""
    host: str = ""
    port: int | str = 389
    enableSsl: bool = False
    allowSelfSignedCert: bool = False
    username: str = ""
    password: str = ""
    baseDn: str = ""
    filter: str = ""
    filterFields: list[str] = Field(default_factory=list)
    autoSync: int = 0
    lastSync: str = ""

    @property
    def port_number(self) -> int:
        try:
            return int(self.port or (636 if self.enableSsl else 389))
        except ValueError:
            raise BadRequest(f"invalid field port: {self.port!r} is no port number") from None


def ldap_of(data: dict[str, Any]) -> LdapServer:
    try:
        return LdapServer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadRequest(f"invalid field {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


class LdapUser(BaseModel):
    """A directory entry as Casdoor's get-ldap-users lists it (AutoAdjustLdapUser), and as
    sync-ldap-users receives it back."""

    model_config = ConfigDict(extra="allow")

    uidNumber: str = ""
    uid: str = ""
    cn: str = ""
    groupId: str = ""
    uuid: str = ""
    displayName: str = ""
    email: str = ""
    mobile: str = ""
    address: str = ""
    country: str = ""
    countryName: str = ""
    memberOf: list[str] = Field(default_factory=list)
    attributes: dict[str, str] | None = None

    @property
    def ldap_uuid(self) -> str:
        return self.uuid or self.uid or self.cn


@dataclass
class RunReport:
    """What one run did: counts for the console and the run-syncer event; the users that failed."""

    created: int = 0
    updated: int = 0
    exported: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "exported": self.exported,
                "unchanged": self.unchanged, "failed": self.failed}
