"""The events picker: checkboxes keep their size beside long descriptions (390 px), clearing the
search brings back the categories as they were (plus those with a pick), counts in the singular."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.browser import shoot
from tests.support import ServerProcess


def test_the_picker_after_a_search(page: Page, server: ServerProcess, screenshots: bool) -> None:
    page.goto("/console/webhooks/new")
    page.set_viewport_size({"width": 390, "height": 800})
    boxes = page.locator("details[open] .event-option input[name=events]")
    assert boxes.count() > 3
    for index in range(boxes.count()):
        box = boxes.nth(index).bounding_box()
        assert box and box["width"] >= 12 and box["height"] >= 12, (index, box)

    groups = page.locator("details.event-group")
    open_before = [groups.nth(i).evaluate("g => g.open") for i in range(groups.count())]
    assert open_before[0] and not all(open_before)
    page.fill("[data-event-search]", "invitation")
    page.check("input[name=events][value='send-invitation']")
    page.fill("[data-event-search]", "")
    expect(page.locator("details.event-group:not([hidden])")).to_have_count(groups.count())
    invitations = page.locator("details[data-category='Invitations']")
    for index in range(groups.count()):
        group = groups.nth(index)
        expected = open_before[index] or group.get_attribute("data-category") == "Invitations"
        assert group.evaluate("g => g.open") == expected, group.get_attribute("data-category")
    expect(invitations.locator(".event-option:not([hidden])")).to_have_count(2)
    expect(page.locator("details[data-category='Support Systems'] summary")).to_contain_text("1 event")
    expect(page.locator("details[data-category='Support Systems'] summary")).not_to_contain_text("1 events")
    if screenshots:
        shoot(page, "event-picker")
