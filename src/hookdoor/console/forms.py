"""The console's forms: which fields each identity page shows, and a posted form as the JSON body
the API's service takes (the same body a Casdoor client would send)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import UnionType
from typing import Any, Union, get_args, get_origin

from starlette.datastructures import FormData

from hookdoor.errors import BadRequest
from hookdoor.events.catalog import CATALOG, CATEGORIES, get_event_type
from hookdoor.identity.registry import GLOBAL_OWNER, KINDS, ResourceKind, kind


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    # text, number, email, url, password, secret (kept when left empty), textarea, code (monospace),
    # lines, checkbox, select, organization, members (a multiple select of the organization's
    # ``members`` kind), json
    type: str = "text"
    help: str = ""
    choices: tuple[str, ...] = ()
    on_edit: bool = True  # shown when editing
    on_create: bool = True  # shown when creating
    locked_on_edit: bool = False  # shown read-only when editing (names are keys)
    required: bool = False
    admin_only: bool = False  # only an administrator of the object's organization may change it
    members: str = ""  # for type members: the kind listed (user, group, role)


@dataclass(frozen=True)
class KindPage:
    kind: ResourceKind
    title: str
    fields: tuple[Field, ...]
    columns: tuple[tuple[str, str], ...]  # (field, heading) shown in the list
    search_fields: tuple[str, ...] = ("name", "displayName")

    @property
    def owner_is_organization(self) -> bool:
        return not self.kind.globally_owned

    @property
    def organization_field(self) -> str | None:
        """The form field that names the organization: owner, the organization field, or none."""
        if self.kind.singular == "organization":
            return None
        return "owner" if self.owner_is_organization else "organization"

    def owner_and_name(self, obj: dict[str, Any]) -> tuple[str, str]:
        return obj["owner"], obj["name"]


NAME = Field("name", "Name", required=True, locked_on_edit=True,
             help="A key: letters, digits and -_. ; no '/', '?', '#', '%' or spaces around it.")
DISPLAY_NAME = Field("displayName", "Display name")
ORGANIZATION_OWNER = Field("owner", "Organization", "organization", required=True, locked_on_edit=True)
ENABLED = Field("isEnabled", "Enabled", "checkbox")
DESCRIPTION = Field("description", "Description", "textarea")
USERS = Field("users", "Users", "members", members="user", help="Pick any number (Ctrl or ⌘ for several).")
GROUPS = Field("groups", "Groups", "members", members="group", help="Pick any number (Ctrl or ⌘ for several).")
ROLES = Field("roles", "Roles", "members", members="role", help="Pick any number (Ctrl or ⌘ for several).")

PAGES: dict[str, KindPage] = {
    page.kind.plural: page
    for page in (
        KindPage(
            kind("organization"), "Organizations",
            (NAME, DISPLAY_NAME, Field("websiteUrl", "Website", "url"),
             Field("defaultApplication", "Default application"),
             Field("enableSoftDeletion", "Soft deletion", "checkbox")),
            (("displayName", "Display name"), ("websiteUrl", "Website")),
        ),
        KindPage(
            kind("user"), "Users",
            (ORGANIZATION_OWNER, NAME, DISPLAY_NAME, Field("email", "Email", "email", admin_only=True),
             Field("phone", "Phone", admin_only=True), Field("password", "Password", "password", on_edit=False),
             Field("newPassword", "New password", "password", on_create=False, admin_only=True,
                   help="Leave empty to keep the current password."),
             Field("affiliation", "Affiliation"), Field("tag", "Tag"),
             Field("isAdmin", "Administrator of the organization", "checkbox", admin_only=True),
             Field("isForbidden", "Forbidden to sign in", "checkbox", admin_only=True)),
            (("owner", "Organization"), ("displayName", "Display name"), ("email", "Email"), ("isAdmin", "Admin")),
            ("name", "displayName", "email"),
        ),
        KindPage(
            kind("application"), "Applications",
            (Field("organization", "Organization", "organization", required=True), NAME, DISPLAY_NAME,
             DESCRIPTION, Field("homepageUrl", "Homepage", "url"),
             Field("redirectUris", "Redirect URIs", "lines", help="One URI per line."),
             Field("enablePassword", "Password sign-in", "checkbox"),
             Field("enableSignUp", "Sign-up allowed", "checkbox"),
             # Hookdoor as the application's SAML IdP (saml/).
             Field("samlReplyUrl", "SAML reply URL", "url", admin_only=True,
                   help="Where SAML responses go, whatever the request says; empty: the request's ACS URL, "
                        "which the redirect URIs must name. The IdP metadata to give the service provider: "
                        "/api/saml/metadata?application=admin/<this application's name>"),
             Field("useEmailAsSamlNameId", "SAML NameID is the email", "checkbox"),
             Field("enableSamlAssertionSignature", "Sign SAML assertions too", "checkbox"),
             Field("disableSamlAttributes", "No SAML attributes", "checkbox"),
             Field("samlHashAlgorithm", "SAML signature hash", "select", choices=("SHA256", "SHA512", "SHA1"))),
            (("organization", "Organization"), ("displayName", "Display name"), ("enableSignUp", "Sign-up")),
        ),
        KindPage(
            kind("group"), "Groups",
            (ORGANIZATION_OWNER, NAME, DISPLAY_NAME, Field("type", "Type"),
             Field("parentId", "Parent group", help="The parent group's name; empty for a top group."), ENABLED),
            (("owner", "Organization"), ("displayName", "Display name"), ("parentId", "Parent")),
        ),
        KindPage(
            kind("role"), "Roles",
            (ORGANIZATION_OWNER, NAME, DISPLAY_NAME, DESCRIPTION, USERS, GROUPS, ROLES, ENABLED),
            (("owner", "Organization"), ("displayName", "Display name"), ("description", "Description")),
        ),
        KindPage(
            kind("permission"), "Permissions",
            (ORGANIZATION_OWNER, NAME, DISPLAY_NAME, DESCRIPTION, USERS, GROUPS, ROLES,
             Field("resourceType", "Resource type"),
             Field("resources", "Resources", "lines", help="One per line."),
             Field("actions", "Actions", "lines", help="One per line, e.g. Read, Write."),
             Field("effect", "Effect", "select", choices=("Allow", "Deny")), ENABLED),
            (("owner", "Organization"), ("displayName", "Display name"), ("effect", "Effect")),
        ),
        KindPage(
            kind("model"), "Models",
            (ORGANIZATION_OWNER, NAME, DISPLAY_NAME, DESCRIPTION,
             Field("modelText", "Model text", "code", required=True,
                   help="Casbin model: [request_definition], [policy_definition], optional [role_definition], "
                        "[policy_effect], [matchers]. Checked when saved.")),
            (("owner", "Organization"), ("displayName", "Display name"), ("description", "Description")),
        ),
        KindPage(
            kind("adapter"), "Adapters",
            (ORGANIZATION_OWNER, NAME, Field("table", "Table", help="Default casbin_rule."),
             Field("useSameDb", "Keep the rules in Hookdoor's database", "checkbox"),
             Field("databaseType", "External database", "select", choices=("", "mysql", "postgres"),
                   help="Leave empty (or tick the box above) to keep the rules in Hookdoor's database."),
             Field("host", "Host"), Field("port", "Port"), Field("user", "User"),
             Field("password", "Password", "password", help="Leave empty to keep the stored password."),
             Field("database", "Database")),
            (("owner", "Organization"), ("databaseType", "Database"), ("table", "Table")),
        ),
        KindPage(
            kind("enforcer"), "Enforcers",
            (ORGANIZATION_OWNER, NAME, DISPLAY_NAME, DESCRIPTION,
             Field("model", "Model", required=True, help="The model's owner/name."),
             Field("adapter", "Adapter", required=True, help="The adapter's owner/name.")),
            (("owner", "Organization"), ("model", "Model"), ("adapter", "Adapter")),
        ),
    )
}
CREATE_DEFAULTS: dict[str, Any] = {"isEnabled": True, "enablePassword": True, "effect": "Allow"}

# ---- pages derived from the registry --------------------------------------------------------------
# Every other kind gets its pages from its declaration, the way the API gets its routes: the model's
# plain fields as inputs, its secret fields as inputs that keep the stored value when left empty,
# and everything else (nested lists, objects, fields the model does not declare) as one JSON box.

BASE_FIELDS = frozenset({"owner", "name", "createdTime", "updatedTime", "displayName"})
OWN_PAGES = frozenset({"webhook"})  # Settings > Webhooks (webhook_pages.py)
EXTRA = "extraJson"
LONG_TEXT = frozenset({"certificate", "description", "content", "text"})


def _input_type(annotation: Any) -> str | None:
    """The input for a model field's type; None: edited in the JSON box."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    plain = args[0] if get_origin(annotation) in (Union, UnionType) and len(args) == 1 else annotation
    if plain is bool:
        return "checkbox"
    if plain in (int, float):
        return "number"
    if plain is str:
        return "text"
    if get_origin(plain) is list and get_args(plain) == (str,):
        return "lines"
    return None


def _label(name: str) -> str:
    """camelCase as words: clientSecret -> Client secret."""
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return words[:1].upper() + words[1:]


def derived_fields(resource: ResourceKind) -> tuple[Field, ...]:
    owner = ORGANIZATION_OWNER if not resource.globally_owned else Field("owner", "Owner", required=True,
                                                                        locked_on_edit=True)
    key = NAME if resource.key_field == "name" else Field(
        resource.key_field, _label(resource.key_field), locked_on_edit=True, help="Left empty, one is made.")
    fields = [owner, key, DISPLAY_NAME]
    for name, info in resource.model.model_fields.items():
        if name in BASE_FIELDS or name in resource.hidden_fields or name in resource.secret_fields:
            continue
        if (input_type := _input_type(info.annotation)) is not None:
            input_type = "textarea" if input_type == "text" and name in LONG_TEXT else input_type
            help_text = "One per line." if input_type == "lines" else ""
            fields.append(Field(name, _label(name), input_type, help=help_text))
    fields += [Field(name, _label(name), "secret", help="Leave empty to keep the stored value.")
               for name in resource.secret_fields]
    fields.append(Field(EXTRA, "Other fields (JSON)", "json",
                        help="The object's other fields, as a JSON object; what you change here is saved too."))
    return tuple(fields)


def derived_page(resource: ResourceKind) -> KindPage:
    fields = derived_fields(resource)
    shown = [f for f in fields[3:] if f.type in ("text", "number", "checkbox")][:2]
    return KindPage(resource, _label(resource.plural), fields,
                    (("owner", "Organization"), ("displayName", "Display name"), *((f.name, f.label) for f in shown)))


for _kind in KINDS:
    if _kind.plural not in PAGES and _kind.singular not in OWN_PAGES:
        PAGES[_kind.plural] = derived_page(_kind)
# Kinds with pages of their own in the navigation (identity; access control); the rest are under
# "All kinds".
IDENTITY_PAGES = ("organizations", "users", "applications", "groups", "roles", "permissions")
ACCESS_CONTROL_PAGES = ("models", "adapters", "enforcers")
MORE_PAGES = tuple(plural for plural in PAGES if plural not in (*IDENTITY_PAGES, *ACCESS_CONTROL_PAGES))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def object_body(page: KindPage, form: FormData, *, creating: bool, manager: bool = True) -> dict[str, Any]:
    """The object the form describes, as the API's add-/update- body (every field the form shows;
    a user editing their own account is shown the administrators' fields read-only)."""
    body: dict[str, Any] = {}
    for field in page.fields:
        posted = field.on_create if creating else field.on_edit and not field.locked_on_edit
        if not posted or (field.admin_only and not manager):
            continue
        if field.type == "checkbox":
            body[field.name] = form.get(field.name) is not None
        elif field.type == "lines":
            body[field.name] = _lines(_text(form, field.name))
        elif field.type == "members":
            body[field.name] = [m for m in form.getlist(field.name) if isinstance(m, str) and m]
        elif field.type == "json":
            body.update(_extra_fields(_text(form, field.name), page))
        elif field.type in ("number", "secret"):
            if value := _text(form, field.name):  # empty: the default, or the stored secret kept
                body[field.name] = value
        elif field.type == "password":
            if password := form.get(field.name):
                body["password" if field.name == "newPassword" else field.name] = password
        else:
            body[field.name] = _text(form, field.name)
    if creating and page.kind.globally_owned:
        body["owner"] = GLOBAL_OWNER
    return body


def _extra_fields(text: str, page: KindPage) -> dict[str, Any]:
    """The JSON box: an object whose keys are none of the fields the form shows otherwise."""
    if not text:
        return {}
    try:
        extra = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"invalid field {EXTRA}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(extra, dict):
        raise BadRequest(f"invalid field {EXTRA}: must be a JSON object, {{...}}")
    own = {f.name for f in page.fields} | BASE_FIELDS
    if clashing := sorted(own & set(extra)):
        raise BadRequest(f"invalid field {EXTRA}: {', '.join(clashing)} has its own input above")
    return extra


def extra_json(page: KindPage, obj: dict[str, Any]) -> str:
    own = {f.name for f in page.fields} | BASE_FIELDS
    rest = {k: v for k, v in obj.items() if k not in own}
    return json.dumps(rest, indent=2, ensure_ascii=False, sort_keys=True) if rest else ""


def form_values(page: KindPage, obj: dict[str, Any]) -> dict[str, Any]:
    """What the form's inputs show for a stored object."""
    values: dict[str, Any] = {}
    for field in page.fields:
        value = obj.get(field.name)
        if field.type == "json":
            values[field.name] = extra_json(page, obj)
        elif field.type == "secret":
            values[field.name] = ""
        elif field.type == "members":
            values[field.name] = [str(v) for v in value or []]
        elif field.type == "lines":
            values[field.name] = "\n".join(str(v) for v in value or [])
        elif field.type == "picker":
            values[field.name] = [str(v) for v in value or []]
        elif field.type == "checkbox":
            values[field.name] = bool(value)
        elif field.type != "password":
            values[field.name] = "" if value is None else value
    return values


def posted_values(page: KindPage, form: FormData) -> dict[str, Any]:
    """What the inputs showed when posted, to show the form again beside its error."""
    def shown(f: Field) -> Any:
        if f.type == "checkbox":
            return form.get(f.name) is not None
        if f.type == "members":
            return [m for m in form.getlist(f.name) if isinstance(m, str)]
        return _text(form, f.name)
    return {f.name: shown(f) for f in page.fields if f.type not in ("password", "secret")}


# ---- webhooks -----------------------------------------------------------------------------------

METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
PAYLOAD_FORMATS = (
    ("hookdoor", "Hookdoor (the overview's shape, extended)"),
    ("casdoor", "Casdoor (the record, as Casdoor sends it)"),
    ("cloudevents", "CloudEvents 1.0 (structured JSON)"),
)
WEBHOOK_CHECKBOXES = ("useExponentialBackoff", "ordered", "includeFailures", "isEnabled")
WEBHOOK_NUMBERS = ("maxRetries", "retryInterval", "timeoutSeconds", "rateLimit", "maxConcurrency")
WEBHOOK_DEFAULTS: dict[str, Any] = {
    "method": "POST", "contentType": "application/json", "payloadFormat": "hookdoor", "events": [],
    "headers": [], "maxRetries": 0, "retryInterval": 60, "useExponentialBackoff": False, "timeoutSeconds": 15,
    "rateLimit": 0, "maxConcurrency": 10, "ordered": False, "includeFailures": False, "isEnabled": True,
    "singleOrgOnly": False, "url": "", "name": "", "organization": "",
}


def event_groups() -> list[tuple[str, list[Any]]]:
    """The catalog by category, in display order: the events picker."""
    return [(category, [e for e in CATALOG if e.category == category]) for category in CATEGORIES]


def webhook_body(form: FormData, *, creating: bool, global_admin: bool) -> dict[str, Any]:
    """The webhook the form describes, as the add-/update-webhook body. Numbers go as typed: the
    service's validation names a wrong one, exactly as for an API client."""
    organization = _text(form, "organization")
    body: dict[str, Any] = {
        "organization": organization, "url": _text(form, "url"), "method": _text(form, "method") or "POST",
        "contentType": _text(form, "contentType"), "payloadFormat": _text(form, "payloadFormat") or "hookdoor",
        "events": selected_events(form), "headers": posted_headers(form),
    }
    for name in WEBHOOK_CHECKBOXES:
        body[name] = form.get(name) is not None
    if global_admin:
        body["singleOrgOnly"] = form.get("singleOrgOnly") is not None
    for name in WEBHOOK_NUMBERS:
        if value := _text(form, name):
            body[name] = value
    if creating:
        body["owner"], body["name"] = organization, _text(form, "name")
        if secret := _text(form, "signingSecret"):
            body["signingSecret"] = secret
    return body


def selected_events(form: FormData) -> list[str]:
    chosen = [e for e in form.getlist("events") if isinstance(e, str) and e]
    patterns = [p.strip() for p in _text(form, "eventPatterns").replace(",", " ").split() if p.strip()]
    return list(dict.fromkeys([*chosen, *patterns]))


def posted_headers(form: FormData) -> list[dict[str, str]]:
    names, values = form.getlist("header_name"), form.getlist("header_value")
    pairs = zip(names, [*values, *[""] * (len(names) - len(values))], strict=False)
    return [{"name": str(n).strip(), "value": str(v)} for n, v in pairs if str(n).strip()]


def split_events(events: list[str]) -> tuple[set[str], str]:
    """Catalog names (checkboxes) apart from patterns such as add-* (typed)."""
    names = {e for e in events if get_event_type(e) is not None}
    return names, " ".join(e for e in events if e not in names)
