"""The list pages' import form: an .xlsx uploaded in the browser goes through upload-<plural>,
and its report is shown row by row."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique
from tests.uploads.test_uploads import workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _organization(server: ServerProcess) -> tuple[Api, str]:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    name = unique("org")
    assert api.post("add-organization", {"owner": "admin", "name": name})["status"] == "ok"
    return api, name


def _import(page: Page, plural: str, organization: str, content: bytes) -> None:
    page.goto(f"/console/{plural}?organization={organization}")
    page.click("summary:has-text('Import')")
    page.select_option("select[name=owner]", organization)
    page.set_input_files("input[name=file]", files=[{"name": "import.xlsx", "mimeType": XLSX, "buffer": content}])
    page.click("button:has-text('Upload')")


def test_groups_are_imported_from_the_list_page(page: Page, server: ServerProcess) -> None:
    api, organization = _organization(server)
    names = [unique("cg") for _ in range(2)]
    _import(page, "groups", organization, workbook(["name", "displayName"], *[[n, n] for n in names]))
    expect(page.locator(".notice")).to_have_text("2 created, 0 skipped (they exist already).")
    expect(page.locator("tr.outcome-created")).to_have_count(2)
    listed = {g["name"] for g in api.get("get-groups", owner=organization)["data"]}
    assert set(names) <= listed


def test_a_refused_row_is_shown_and_nothing_imported(page: Page, server: ServerProcess) -> None:
    api, organization = _organization(server)
    good = unique("cr")
    _import(page, "roles", organization, workbook(["name", "isEnabled"], [good, 1], [unique("cr"), "perhaps"]))
    expect(page.locator("#form-error")).to_contain_text("row 3")
    expect(page.locator("tr.outcome-refused")).to_contain_text("perhaps")
    assert api.get("get-roles", owner=organization)["data"] == []
    _import(page, "roles", organization, b"not a workbook")
    expect(page.locator("#form-error")).to_contain_text("is not an .xlsx workbook")
