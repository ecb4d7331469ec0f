"""The console's forms: which fields each identity page shows, and a posted form as the JSON body
the API's service takes (the same body a Casdoor client would send)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from hookdoor.events.catalog import CATALOG, CATEGORIES, get_event_type
from hookdoor.identity.registry import GLOBAL_OWNER, ResourceKind, kind


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    # text, email, url, password, textarea, code, lines, picker, checkbox, select, organization, number
    type: str = "text"
    help: str = ""
    choices: tuple[str, ...] = ()
    on_edit: bool = True  # shown when editing
    on_create: bool = True  # shown when creating
    locked_on_edit: bool = False  # shown read-only when editing (names are keys)
    required: bool = False
    admin_only: bool = False  # only an administrator of the object's organization may change it
    picks: str = ""  # a picker's kind: the organization's objects of that kind are offered


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
PICK_HELP = "The organization's {}; Ctrl/⌘-click to pick several."
USERS = Field("users", "Users", "picker", help=PICK_HELP.format("users"), picks="user")
GROUPS = Field("groups", "Groups", "picker", help=PICK_HELP.format("groups"), picks="group")
ROLES = Field("roles", "Roles", "picker", help=PICK_HELP.format("roles"), picks="role")

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
             Field("enableSignUp", "Sign-up allowed", "checkbox")),
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
        KindPage(
            kind("provider"), "Providers",
            (ORGANIZATION_OWNER, NAME, DISPLAY_NAME,
             Field("category", "Category", "select", choices=("Email", "SMS", "Notification", "Captcha", "OAuth")),
             Field("type", "Type", help="Email: Default (SMTP); SMS: Custom HTTP SMS; Notification: Custom HTTP "
                   "or Slack; Captcha: Default; OAuth: Custom."),
             Field("host", "SMTP host"), Field("port", "SMTP port", "number"),
             Field("sslMode", "TLS", "select", choices=("Auto", "Enable", "StartTLS", "Disable"),
                   help="Auto: TLS on port 465, STARTTLS elsewhere when the server offers it."),
             Field("clientId", "Client ID / SMTP user"),
             Field("clientSecret", "Client secret / SMTP password", "password",
                   help="Leave empty to keep the current one."),
             Field("clientId2", "From address"), Field("clientSecret2", "From name"),
             Field("endpoint", "SMS endpoint", "url", help="{mobile} and {code} are filled in."),
             Field("receiver", "Notification URL", "url"),
             Field("method", "HTTP method", "select", choices=("POST", "GET", "PUT", "DELETE")),
             Field("title", "Email subject / content field name"),
             Field("content", "Email text", "textarea", help="%s is the code; %{user.friendlyName} the user."),
             Field("templateCode", "SMS template", help="%s is the content."),
             Field("issuerUrl", "SMS content type", help="application/json or application/x-www-form-urlencoded.")),
            (("owner", "Organization"), ("category", "Category"), ("type", "Type")),
        ),
    )
}
CREATE_DEFAULTS: dict[str, Any] = {"isEnabled": True, "enablePassword": True, "effect": "Allow"}


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
        elif field.type == "picker":
            body[field.name] = picked(form, field.name)
        elif field.type == "password":
            if password := form.get(field.name):
                body["password" if field.name == "newPassword" else field.name] = password
        elif field.type == "number":
            typed = _text(form, field.name)
            body[field.name] = int(typed) if typed.isdigit() else typed or 0  # a wrong one is named by validation
        else:
            body[field.name] = _text(form, field.name)
    if creating and page.kind.globally_owned:
        body["owner"] = GLOBAL_OWNER
    return body


def form_values(page: KindPage, obj: dict[str, Any]) -> dict[str, Any]:
    """What the form's inputs show for a stored object."""
    values: dict[str, Any] = {}
    for field in page.fields:
        value = obj.get(field.name)
        if field.type == "lines":
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
    return {f.name: (form.get(f.name) is not None) if f.type == "checkbox" else picked(form, f.name)
            if f.type == "picker" else _text(form, f.name) for f in page.fields if f.type != "password"}


def picked(form: FormData, name: str) -> list[str]:
    """A picker's chosen ids (a client may also send them as lines of one value)."""
    return list(dict.fromkeys(line for value in form.getlist(name) if isinstance(value, str)
                              for line in _lines(value)))


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
