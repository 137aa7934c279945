"""The dashboard in a real Chromium against the real server: every panel shows real values, every time
frame switches, the live panel follows new readings, and the in-browser verifier agrees with
`wattwitness verify` on the real export and fails on a tampered one. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests import vectors
from tests.e2e.conftest import ZONE, Installation, Server
from tests.e2e.history import gap_start
from wattwitness.protocol import verify_chain

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# The browser runs in another zone than the installation: every label must still be in Europe/Berlin.
BROWSER_ZONE = "America/Los_Angeles"


def format_power(watts: float) -> str:
    """What the dashboard shows (en-US): W with one decimal below 1 kW, kW with two above."""
    return f"{watts / 1000:,.2f} kW" if abs(watts) >= 1000 else f"{watts:,.1f} W"


def format_energy(wh: float) -> str:
    if abs(wh) >= 1e6:
        return f"{wh / 1e6:,.3f} MWh"
    return f"{wh / 1000:,.3f} kWh" if abs(wh) >= 1000 else f"{wh:,.3f} Wh"


def plain(text: str | None) -> str:
    # ICU puts narrow no-break spaces before AM/PM; compare as plain spaces.
    return (text or "").replace("\u202f", " ").replace("\u00a0", " ")


def export_summary(text: str) -> str:
    items = []
    for line in text.splitlines():
        if line.strip():
            item = json.loads(line)
            items.append((bytes.fromhex(item["record"]), bytes.fromhex(item["signature"])))
    return verify_chain(items, vectors.public_key()).summary()


@pytest.fixture
def open_page(browser: Browser, server: Server, installation: Installation) -> Iterator:
    """Opens the dashboard for the installation; fails the test on any uncaught page error."""
    contexts, errors = [], []

    def open_(viewport: dict[str, int] = DESKTOP, color_scheme: str = "light", query: str = "",
              **extra: object) -> Page:
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme, locale="en-US",
                                      timezone_id=BROWSER_ZONE, **extra)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/?installation={installation.id}{query}")
        expect(page.get_by_test_id("live-power")).to_be_visible(timeout=30_000)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def api(server: Server, path: str, **params: object) -> dict:
    answer = httpx.get(f"{server.url}/api/v1{path}", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_panel_shows_real_values(open_page, server: Server, installation: Installation, artifacts):
    page = open_page()
    info = api(server, f"/installations/{installation.id}")
    latest = api(server, f"/readings/latest/{installation.id}")

    expect(page.get_by_test_id("live-power")).to_have_text(format_power(latest["power_w"]))
    berlin_time = datetime.fromtimestamp(latest["timestamp"], ZoneInfo(ZONE)).strftime("%-I:%M:%S %p")
    assert berlin_time in plain(page.get_by_test_id("live-time").text_content())
    expect(page.locator("[data-panel=live] canvas").first).to_be_visible()

    expect(page.get_by_test_id("info-mac")).to_have_text(vectors.meter().hex().upper())
    expect(page.get_by_test_id("info-key-id")).to_have_text(vectors.ww2()["key"]["key_id"])
    expect(page.get_by_test_id("info-timezone")).to_have_text(ZONE)
    expect(page.get_by_test_id("info-count")).to_have_text(f"{info['reading_count']:,}")
    assert info["reading_count"] == len(installation.history.items)
    expect(page.get_by_test_id("info-uptime")).to_contain_text("(boot 2)")

    expect(page.get_by_test_id("status-overall")).to_have_text(re.compile(r"\w+"))
    expect(page.get_by_test_id("status-device")).to_contain_text(re.compile(r"(live|stale|offline)"))
    expect(page.get_by_test_id("status-database")).to_have_text("ok")
    # The e2e server's internet probe targets the server itself, so it must come up connected.
    expect(page.get_by_test_id("status-internet")).to_have_text(re.compile(r"^connected"), timeout=20_000)

    expect(page.get_by_test_id("energy-lifetime")).to_have_text(format_energy(info["lifetime_energy_wh"]))
    day = api(server, f"/readings/{installation.id}/chart", time_frame="day")
    expect(page.get_by_test_id("energy-total")).to_have_text(format_energy(day["total_energy"]))
    expect(page.locator("[data-panel=energy] canvas").first).to_be_visible()

    rows = page.get_by_test_id("records-table").locator("tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text(f"{latest['boot']} · {latest['seq']}")
    expect(rows.first).to_contain_text(latest["status"])

    integrity = api(server, f"/readings/{installation.id}/integrity")
    assert len(integrity["gaps"]) == 1 and len(integrity["counter_resets"]) == 1
    expect(page.get_by_test_id("integrity-gaps")).to_have_text("1")
    expect(page.get_by_test_id("integrity-resets")).to_have_text("1")
    expect(page.get_by_test_id("integrity-gap-list")).to_contain_text(f"{installation.history.skipped} missing")

    page.screenshot(path=str(artifacts / "dashboard-desktop.png"), full_page=True)


def test_every_time_frame_and_period_navigation(open_page, server: Server, installation: Installation):
    page = open_page()
    energy = page.locator("[data-panel=energy]")
    period = page.get_by_test_id("energy-period")
    for frame in ("hour", "day", "week", "month", "year"):
        energy.get_by_role("button", name=frame, exact=True).click()
        expect(energy.get_by_role("button", name=frame, exact=True)).to_have_attribute("aria-pressed", "true")
        chart = api(server, f"/readings/{installation.id}/chart", time_frame=frame)
        expect(page.get_by_test_id("energy-total")).to_have_text(format_energy(chart["total_energy"]))
        # Every bucket the server computed is shown, estimated ones marked as such.
        table = page.get_by_test_id("energy-table")
        page.locator("[data-panel=energy] details summary").click()
        expect(table.locator("tbody tr")).to_have_count(len(chart["data_points"]))
        expect(table.locator("tbody tr.estimated")).to_have_count(sum(p["estimated"] for p in chart["data_points"]))
        page.locator("[data-panel=energy] details summary").click()
        assert f"frame={frame}" in page.url
        # The buckets add up to the period's total (the server's contract; the dashboard shows both).
        assert sum(point["value"] for point in chart["data_points"]) == pytest.approx(chart["total_energy"], abs=1e-3)

    energy.get_by_role("button", name="day", exact=True).click()
    expect(page.get_by_role("button", name="Next day")).to_be_disabled()
    today = period.text_content()
    page.get_by_role("button", name="Previous day").click()
    expect(period).not_to_have_text(today or "")
    yesterday = api(server, f"/readings/{installation.id}/chart", time_frame="day",
                    at=int(page.url.split("at=")[1].split("&")[0]))
    assert yesterday["total_energy"] > 0
    expect(page.get_by_test_id("energy-total")).to_have_text(format_energy(yesterday["total_energy"]))
    csv = page.get_by_test_id("csv-download").get_attribute("href") or ""
    assert f"since={yesterday['period_start']}" in csv and "format=csv" in csv
    page.get_by_role("button", name="Next day").click()
    expect(period).to_have_text(today or "")


def test_estimated_buckets_are_marked(open_page, server: Server, installation: Installation):
    """The hour around the history's half-hour gap: the server interpolates it, the dashboard says so."""
    at = gap_start(installation.now) + 600
    page = open_page(query=f"&frame=hour&at={at}")
    chart = api(server, f"/readings/{installation.id}/chart", time_frame="hour", at=at)
    estimated = sum(point["estimated"] for point in chart["data_points"])
    assert estimated > 0, chart
    expect(page.get_by_test_id("energy-total")).to_have_text(format_energy(chart["total_energy"]))
    expect(page.get_by_test_id("energy-estimated-note")).to_contain_text(f"{estimated} bucket(s) estimated")
    page.locator("[data-panel=energy] details summary").click()
    expect(page.get_by_test_id("energy-table").locator("tbody tr.estimated")).to_have_count(estimated)
    expect(page.get_by_test_id("energy-table").locator("tbody tr")).to_have_count(12)


def test_live_power_follows_a_new_reading_within_two_seconds(open_page, server: Server,
                                                             installation: Installation):
    page = open_page()
    expect(page.get_by_test_id("stream-state")).to_have_text("live", timeout=15_000)
    record, signature = installation.history.add(int(time.time()), power_mw=4_321_000)
    posted = httpx.post(f"{server.url}/api/v1/readings/",
                        json={"record": record.hex(), "signature": signature.hex()}, timeout=30)
    assert posted.status_code == 201, posted.text
    started = time.monotonic()
    expect(page.get_by_test_id("live-power")).to_have_text("4.32 kW", timeout=2_000)
    assert time.monotonic() - started <= 2.0


def test_a_record_row_opens_the_full_record(open_page, server: Server, installation: Installation):
    page = open_page()
    latest = api(server, f"/readings/latest/{installation.id}")
    page.get_by_test_id("records-table").locator("tbody tr").first.click()
    dialog = page.get_by_test_id("record-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("record-hex")).to_have_text(latest["record"])
    expect(dialog.get_by_test_id("record-hash")).to_have_text(latest["record_hash"])
    expect(dialog.get_by_test_id("record-signature")).to_have_text(latest["signature"])
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def run_browser_verification(page: Page, period: str) -> None:
    panel = page.locator("[data-panel=verify]")
    panel.get_by_label("Period").select_option(label=period)
    panel.get_by_role("button", name="Verify signatures").click()
    expect(page.get_by_test_id("verify-summary")).to_be_visible(timeout=120_000)


def test_browser_verification_agrees_with_the_cli(open_page, server: Server, installation: Installation,
                                                  artifacts):
    page = open_page()
    text = httpx.get(f"{server.url}/api/v1/readings/{installation.id}/export", params={"format": "jsonl"},
                     timeout=60).text
    expected = export_summary(text)
    assert expected.startswith(f"{len(text.strip().splitlines())} records: ")
    run_browser_verification(page, "Everything")
    expect(page.get_by_test_id("verify-summary")).to_have_text(expected)
    expect(page.get_by_test_id("verify-verdict")).to_have_text("PASSED")
    page.locator("[data-panel=verify]").screenshot(path=str(artifacts / "verify-passed.png"))
    took = re.search(r"(\d+) ms", page.get_by_test_id("verify-result").text_content() or "")
    assert took is not None
    (artifacts / "dashboard-verify.json").write_text(json.dumps(
        {"records": len(text.strip().splitlines()), "browser_verify_ms": int(took.group(1))}) + "\n")


def test_browser_verification_fails_on_a_tampered_export(open_page, server: Server, artifacts):
    page = open_page()
    tampered: dict[str, str] = {}

    def flip_one_byte(route: Route) -> None:
        lines = route.fetch().text().splitlines()
        item = json.loads(lines[9])
        # The energy counter's last byte of the tenth record: what a database editor would change.
        digit = item["record"][83]
        item["record"] = item["record"][:83] + ("1" if digit != "1" else "2") + item["record"][84:]
        lines[9] = json.dumps(item)
        tampered["text"] = "\n".join(lines) + "\n"
        route.fulfill(status=200, body=tampered["text"], content_type="application/x-ndjson")

    page.route("**/api/v1/readings/*/export*", flip_one_byte)
    run_browser_verification(page, "Everything")
    expect(page.get_by_test_id("verify-verdict")).to_have_text("FAILED")
    expected = export_summary(tampered["text"])
    assert " 1 invalid," in expected
    expect(page.get_by_test_id("verify-summary")).to_have_text(expected)
    expect(page.get_by_test_id("verify-problems")).to_contain_text("line 10: invalid_signature")
    page.locator("[data-panel=verify]").screenshot(path=str(artifacts / "verify-failed.png"))


def test_phone_layout_and_dark_theme(open_page, artifacts):
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    expect(page.get_by_test_id("energy-total")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than a phone screen"
    page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)

    dark = open_page(color_scheme="dark")
    expect(dark.get_by_test_id("energy-total")).to_be_visible()
    background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(11, 18, 32)", background
    dark.screenshot(path=str(artifacts / "dashboard-desktop-dark.png"), full_page=True)


def test_first_load_is_bundled_and_timed(browser: Browser, server: Server, installation: Installation, artifacts):
    """No CDN: every request stays on the server's origin. Records the first-load time for bench/README.md
    (median of three cold loads, each in a fresh browser context with an empty cache)."""
    samples = []
    for _ in range(3):
        context = browser.new_context(viewport=DESKTOP, locale="en-US")
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request, seen=requested: seen.append(request.url))
        started = time.perf_counter()
        page.goto(f"{server.url}/?installation={installation.id}")
        expect(page.get_by_test_id("energy-total")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("live-power")).to_be_visible()
        expect(page.get_by_test_id("records-table")).to_be_visible()
        ready_ms = (time.perf_counter() - started) * 1000
        timing = page.evaluate("""() => {
            const nav = performance.getEntriesByType("navigation")[0];
            const assets = performance.getEntriesByType("resource").filter(e => e.name.includes("/assets/"));
            return {dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
                    load_ms: Math.round(nav.loadEventEnd),
                    asset_transfer_bytes: assets.reduce((n, e) => n + e.transferSize, 0)};
        }""")
        context.close()
        foreign = [url for url in requested if not url.startswith(server.url) and not url.startswith("data:")]
        assert foreign == [], f"requests left the server's origin: {foreign}"
        samples.append({**timing, "panels_ready_ms": round(ready_ms), "requests": len(requested)})
    median = {name: sorted(sample[name] for sample in samples)[1] for name in samples[0]}
    (artifacts / "dashboard-load.json").write_text(json.dumps({"median": median, "samples": samples}, indent=2) + "\n")
    assert median["load_ms"] < 5_000


def test_chromium_webcrypto_accepts_high_s(open_page):
    """The ATECC608 does not normalise s (PROTOCOL.md §1): the browser's WebCrypto must accept high-s."""
    page = open_page()
    vector = vectors.ww2()["high_s"]
    accepted = page.evaluate("""async ([publicKey, record, signature]) => {
        const bytes = (hex) => Uint8Array.from(hex.match(/../g), (pair) => parseInt(pair, 16));
        const key = await crypto.subtle.importKey("raw", Uint8Array.from([4, ...bytes(publicKey)]),
            {name: "ECDSA", namedCurve: "P-256"}, false, ["verify"]);
        return crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key, bytes(signature), bytes(record));
    }""", [vectors.ww2()["key"]["public"], vector["record"], vector["signature"]])
    assert accepted is True


def test_picker_switches_to_a_simulator_fed_installation_that_updates_live(
        simulated_installation, open_page, server: Server):
    """The agent signs a reading of the simulated Shelly every second; the dashboard follows it live.
    (simulated_installation comes first so that it exists before the page loads the installation list.)"""
    page = open_page()
    picker = page.get_by_label("Installation", exact=True)
    picker.select_option(str(simulated_installation.id))
    assert f"installation={simulated_installation.id}" in page.url
    expect(page.get_by_test_id("info-mac")).to_have_text(simulated_installation.mac, timeout=15_000)
    expect(page.get_by_test_id("live-power")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stream-state")).to_have_text("live", timeout=15_000)
    first = page.get_by_test_id("live-time").text_content()
    expect(page.get_by_test_id("live-time")).not_to_have_text(first or "", timeout=5_000)
    latest = api(server, f"/readings/latest/{simulated_installation.id}")
    assert latest["status"] == "verified"
    expect(page.get_by_test_id("info-timezone")).to_have_text("Europe/Zurich")
    # The agent signs with a key file, and the installation says so (PROTOCOL.md §1).
    expect(page.get_by_test_id("info-key-storage")).to_have_text("software key")
