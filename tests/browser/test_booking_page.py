"""The mentor page as a mentee sees it: the week's days with their free-time counts, then one
day's times on one line each, in a time zone the mentee can change; booking by keyboard alone."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from server.accounts.service import ACCOUNTS
from server.app import create_app
from tests.browser.conftest import accessibility_problems, csp_violations, logged_in_page
from tests.conftest import FAST_PASSWORDS, PASSWORD, login, make_config, register

pytestmark = pytest.mark.browser

MENTEE = "kiran@example.org"


async def listed_mentor(
    aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, weekly: list[dict[str, Any]]
) -> tuple[str, int]:
    """A running server with an approved mentor (availability in UTC) and a mentee: the base
    URL and the mentor's id."""
    server = await aiohttp_server(create_app(make_config(tmp_path), passwords=FAST_PASSWORDS))
    api = await aiohttp_client(server)
    mentor_id = (await register(api, "meera@example.org", "mentor", "Meera Nair"))["user"]["id"]
    headers = {"X-CSRF-Token": await login(api, "meera@example.org")}
    applied = await api.post(
        "/api/mentors/apply",
        headers=headers,
        json={"headline": "Staff engineer", "bio": "Distributed systems.", "skills": ["DSA"]},
    )
    assert applied.status == 201, await applied.text()
    saved = await api.put(
        "/api/mentors/availability", headers=headers, json={"timezone": "UTC", "weekly": weekly}
    )
    assert saved.status == 200, await saved.text()
    await server.app[ACCOUNTS].make_admin("root@example.org", PASSWORD, "Root")
    admin = await aiohttp_client(server)
    admin_token = await login(admin, "root@example.org")
    approved = await admin.put(
        f"/api/admin/mentors/{mentor_id}/approve", headers={"X-CSRF-Token": admin_token}
    )
    assert approved.status == 200
    await register(api, MENTEE, "mentee", "Kiran Rao")
    return f"http://127.0.0.1:{server.port}", mentor_id


ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def spaces(text: str) -> str:
    """ICU puts a narrow no-break space before AM/PM."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def clock(start: str, zone: str) -> str:
    """'9:00 AM': how en-US shows the instant `start` in `zone`."""
    local = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return local.strftime("%I:%M %p").lstrip("0")


def minutes(text: str) -> int:
    """Minutes after midnight of '9:05 PM'."""
    clock_time = datetime.strptime(spaces(text), "%I:%M %p")
    return clock_time.hour * 60 + clock_time.minute


async def slot_facts(page: Page, zone: str) -> list[dict[str, Any]]:
    """Each shown slot: its instant, text, calendar day in `zone`, and how many lines it takes."""
    facts: list[dict[str, Any]] = await page.evaluate(
        """(zone) => [...document.querySelectorAll('#times .slot')].map((b) => {
            const range = document.createRange();
            range.selectNodeContents(b);
            return {
              start: b.dataset.start,
              text: b.innerText,
              day: new Date(b.dataset.start).toLocaleDateString('en-CA', { timeZone: zone }),
              lines: range.getClientRects().length,
              height: b.getBoundingClientRect().height,
            };
        })""",
        zone,
    )
    return facts


async def test_days_with_counts_then_one_days_times_on_a_phone_and_a_desktop(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    weekdays_only = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(5)]
    base, mentor_id = await listed_mentor(aiohttp_server, aiohttp_client, tmp_path, weekdays_only)
    page = await logged_in_page(browser, base, MENTEE, timezone_id="UTC")
    await page.set_viewport_size({"width": 375, "height": 812})
    await page.goto(f"{base}/mentors/{mentor_id}")

    days = page.locator("#days .day")
    await expect(days).to_have_count(7)
    await expect(page.locator("#days .day[aria-pressed=true]")).to_have_count(1)
    listed = [spaces(t) for t in await days.all_inner_texts()]
    counts = []
    for text in listed:  # "Tue\nDec 2\n41 free"
        found = re.fullmatch(r"\w{3}\s+\w{3} \d{1,2}\s+(\d+) free", text)
        assert found, text
        counts.append(int(found.group(1)))
    assert sum(1 for c in counts if c) >= 4, listed  # weekdays of this week have free times
    assert 0 in counts, listed  # a weekend day, shown as full and not offered
    for i, count in enumerate(counts):
        if not count:
            await expect(days.nth(i)).to_be_disabled()

    # The first day with free times is chosen: only its times show, each on one line.
    chosen = counts.index(next(c for c in counts if c))
    await expect(days.nth(chosen)).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#times .slot")).to_have_count(counts[chosen])
    status = page.get_by_role("status")
    await expect(status).to_have_text(
        re.compile(rf"^\w+day, \w+ \d+: {counts[chosen]} free times?$")
    )
    await page.screenshot(path=str(shots / "booking-days-phone.png"), full_page=True)

    later = [i for i, c in enumerate(counts) if c and i != chosen][-1]
    await days.nth(later).click()
    await expect(days.nth(later)).to_have_attribute("aria-pressed", "true")
    await expect(days.nth(chosen)).to_have_attribute("aria-pressed", "false")
    await expect(page.locator("#times .slot")).to_have_count(counts[later])
    await expect(status).to_contain_text(f"{counts[later]} free times")
    facts = await slot_facts(page, "UTC")
    assert len({f["day"] for f in facts}) == 1, "a day shows only its own times"
    for fact in facts:
        assert "\n" not in fact["text"] and fact["lines"] == 1, fact
        assert fact["height"] <= 48, fact
        assert spaces(fact["text"]) == clock(fact["start"], "UTC"), fact
    assert spaces(facts[0]["text"]) == "12:00 AM"  # a whole free day, from midnight
    shown = [minutes(f["text"]) for f in facts]
    assert shown == sorted(shown) and len(set(shown)) == len(shown), "in order, each once"

    # Nothing earlier than this week; Later and back keep the page sensible.
    earlier = page.get_by_role("button", name="Earlier")
    await expect(earlier).to_be_disabled()
    label = await page.locator("#week-label").inner_text()
    await page.get_by_role("button", name="Later").click()
    await expect(earlier).to_be_enabled()
    await expect(page.locator("#week-label")).not_to_have_text(label)
    await expect(page.locator("#days .day[aria-pressed=true]")).to_have_count(1)
    await expect(page.locator("#times .slot").first).to_be_visible()
    await earlier.click()
    await expect(page.locator("#week-label")).to_have_text(label)
    await expect(earlier).to_be_disabled()
    await expect(page.get_by_role("button", name="Later")).to_be_focused()  # not lost to <body>

    # Nothing past the booking horizon (30 days): Later stops at the last bookable week.
    later = page.get_by_role("button", name="Later")
    for _ in range(4):
        if await later.is_disabled():
            break
        await later.click()
        await expect(page.locator("#day-status")).not_to_have_text("Loading free times…")
    await expect(later).to_be_disabled()
    await expect(page.locator("#times .slot").first).to_be_visible()  # that week still has some
    await expect(earlier).to_be_focused()
    for _ in range(4):
        if await earlier.is_disabled():
            break
        await earlier.click()
    await expect(earlier).to_be_disabled()

    overflow = await page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 375, overflow
    assert await accessibility_problems(page) == []
    await page.screenshot(path=str(shots / "booking-times-phone.png"), full_page=True)

    await page.set_viewport_size({"width": 1280, "height": 800})
    top = await days.evaluate_all(
        "(ds) => new Set(ds.map((d) => d.getBoundingClientRect().top)).size"
    )
    assert top == 1, "the seven days sit in one row on a desktop"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
    await page.locator("#slots-title").scroll_into_view_if_needed()
    await page.screenshot(path=str(shots / "booking-days-1280.png"))
    assert await accessibility_problems(page) == []
    assert await csp_violations(page) == []


async def test_the_zone_is_canonical_and_changing_it_moves_the_times(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    base, mentor_id = await listed_mentor(aiohttp_server, aiohttp_client, tmp_path, ALL_DAY)
    # Chromium reports this legacy name for India; the site must say Asia/Kolkata.
    page = await logged_in_page(browser, base, MENTEE, timezone_id="Asia/Calcutta")
    await page.goto(f"{base}/mentors/{mentor_id}")
    zone = page.get_by_label("Show times in")
    await expect(zone).to_have_value("Asia/Kolkata")
    await expect(page.locator("[data-tz]")).to_have_text("Asia/Kolkata")
    options = await zone.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    assert "UTC" in options and "Europe/Kyiv" in options and "Asia/Ho_Chi_Minh" in options
    assert not {"Asia/Calcutta", "Europe/Kiev", "Asia/Saigon", "Asia/Katmandu"} & set(options)
    await expect(page.locator("#times .slot").first).to_be_visible()
    assert "Calcutta" not in await page.locator("main").inner_text()

    before = await slot_facts(page, "Asia/Kolkata")
    for fact in before:
        assert spaces(fact["text"]) == clock(fact["start"], "Asia/Kolkata"), fact
    start = before[0]["start"]
    await page.locator(f'.slot[data-start="{start}"]').click()
    await expect(page.locator("#chosen")).to_contain_text("(Asia/Kolkata)")

    await zone.select_option("UTC")
    await expect(page.locator("#chosen")).to_contain_text("(UTC)")
    await expect(page.locator("#chosen")).to_contain_text(clock(start, "UTC").split(" ")[0])
    same = page.locator(f'.slot[data-start="{start}"]')
    await expect(same).to_have_attribute("aria-pressed", "true")  # still chosen, same day shown
    await expect(same).to_have_text(re.compile(clock(start, "UTC").replace(" ", r"\s")))
    after = await slot_facts(page, "UTC")
    for fact in after:
        assert spaces(fact["text"]) == clock(fact["start"], "UTC"), fact
    # The same instant reads 5 h 30 min later in Kolkata than in UTC.
    kolkata = next(f["text"] for f in before if f["start"] == start)
    utc = await same.inner_text()
    apart = (minutes(kolkata) - minutes(utc)) % (24 * 60)
    assert apart == 5 * 60 + 30, (kolkata, utc)
    await page.screenshot(path=str(shots / "booking-zone-utc-phone.png"), full_page=True)

    # Every page gets the canonical name: the mentor search sends it as its hidden tz field.
    await page.goto(f"{base}/mentors")
    await expect(page.locator("input[name=tz]")).to_have_value("Asia/Kolkata")
    assert await csp_violations(page) == []


async def focused(page: Page) -> dict[str, Any]:
    info: dict[str, Any] = await page.evaluate(
        """() => { const e = document.activeElement; const s = getComputedStyle(e);
          return { tag: e.tagName, cls: e.className, text: e.innerText || '', id: e.id,
                   name: e.name || '', pressed: e.getAttribute('aria-pressed'),
                   start: e.dataset ? e.dataset.start || '' : '',
                   visible: e.matches(':focus-visible'),
                   ring: s.outlineStyle !== 'none' || s.boxShadow !== 'none' }; }"""
    )
    return info


async def tab_until(page: Page, wanted: Any, limit: int = 200) -> dict[str, Any]:
    for _ in range(limit):
        await page.keyboard.press("Tab")
        info = await focused(page)
        if wanted(info):
            return info
    raise AssertionError("never reached by Tab")


async def test_booking_with_the_keyboard_alone(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    base, mentor_id = await listed_mentor(aiohttp_server, aiohttp_client, tmp_path, ALL_DAY)
    page = await logged_in_page(browser, base, MENTEE, timezone_id="Asia/Kolkata")
    await page.goto(f"{base}/mentors/{mentor_id}")
    await expect(page.locator("#times .slot").first).to_be_visible()

    # From the top of the page: Tab reaches the zone picker, then Later (Earlier is disabled),
    # then the days; Enter picks the next day, and the live region says so.
    await tab_until(page, lambda f: f["id"] == "view-zone")
    info = await tab_until(page, lambda f: f["cls"] == "day")
    assert info["pressed"] == "true" and info["visible"] and info["ring"], info
    info = await tab_until(page, lambda f: f["cls"] == "day")
    assert info["pressed"] == "false"
    await page.keyboard.press("Enter")
    day = page.locator("#days .day:focus")
    await expect(day).to_have_attribute("aria-pressed", "true")
    count = re.search(r"(\d+) free", info["text"])
    assert count, info
    await expect(page.get_by_role("status")).to_have_text(
        re.compile(rf"^\w+day, \w+ \d+: {count.group(1)} free times$")
    )

    # On to that day's third time, chosen with Space.
    await tab_until(page, lambda f: f["cls"] == "slot")
    await page.keyboard.press("Tab")
    info = await tab_until(page, lambda f: f["cls"] == "slot")
    assert info["visible"] and info["ring"], info
    await page.keyboard.press(" ")
    chosen = page.locator(f'.slot[data-start="{info["start"]}"]')
    await expect(chosen).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".slot[aria-pressed=true]")).to_have_count(1)
    await expect(page.locator("#chosen")).to_contain_text(spaces(info["text"]).split(" ")[0])
    await page.screenshot(path=str(shots / "booking-keyboard-phone.png"), full_page=True)

    # The form: topic, agenda, the policy, then Book this slot.
    await tab_until(page, lambda f: f["name"] == "topic")
    await page.keyboard.type("Mock")  # a select picks by typing
    await page.keyboard.press("Tab")
    assert (await focused(page))["name"] == "agenda"
    await page.keyboard.type("Practice a system design round")
    await page.keyboard.press("Tab")
    assert (await focused(page))["name"] == "accept_policy"
    await page.keyboard.press(" ")
    info = await tab_until(page, lambda f: f["id"] == "book-button", limit=5)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/payments/simulator/*")
    await expect(page.get_by_role("note")).to_contain_text("Test payments")
    assert await csp_violations(page) == []

    await page.goto(f"{base}/dashboard")
    row = page.locator("li.booking").first
    await expect(row).to_contain_text("Meera Nair")
    await expect(row).to_contain_text("Mock Interview")


async def test_a_phone_shows_whole_times_and_no_sideways_scroll(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path
) -> None:
    """The narrowest common phone with the widest times (12:45 PM) in the longest zone label."""
    base, mentor_id = await listed_mentor(aiohttp_server, aiohttp_client, tmp_path, ALL_DAY)
    page = await logged_in_page(browser, base, MENTEE, timezone_id="America/Argentina/Buenos_Aires")
    await page.set_viewport_size({"width": 320, "height": 640})
    await page.goto(f"{base}/mentors/{mentor_id}")
    await expect(page.get_by_label("Show times in")).to_have_value("America/Argentina/Buenos_Aires")
    await expect(page.locator("#times .slot").first).to_be_visible()
    narrow = await page.evaluate(
        """() => [...document.querySelectorAll('#times .slot, #days .day')]
          .filter((b) => b.scrollWidth > b.clientWidth).map((b) => b.innerText)"""
    )
    assert narrow == []
    assert await page.evaluate("document.documentElement.scrollWidth") <= 320
