"""A real browser (Debian's Chromium, driven by Playwright) in the real Open WebUI 0.12.4 after rinsync
synced the 2026-08-19 catalog (412 models) through the real LiteLLM proxy: what a NON-admin user sees.

- the model selector lists the curated view (the spec oracle's set, at most 150), not 412 models;
- a model limited to the group ``premium`` (rules: above $10 per million output tokens) is listed for a
  member of that group and absent for a user outside it;
- the info icon's tooltip shows the description with the price; the list follows the rules' order;
- an image attached for a text-only model is refused (not attached), for a vision model it is attached.

Marked e2e (CI runs it); it fails instead of skipping when RINSYNC_REQUIRE_INTEGRATION=1 and Chromium or
Playwright is missing. On failure a screenshot of the page goes to tests/artifacts/. With
RINSYNC_DOCS_SCREENSHOT=1 the selector's screenshot is also written to docs/img/openwebui-selector.png.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import harness
from harness import LiteLLMProxy, OpenWebUI
from support import RULES_DIR, SHARED

CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
TODAY = dt.date(2026, 11, 24)
CHROMIUM = os.environ.get("RINSYNC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = harness.REPO_ROOT / "tests" / "artifacts"
DOCS_SHOT = harness.REPO_ROOT / "docs" / "img" / "openwebui-selector.png"
PREMIUM_RULES = "version: 1\nopenwebui:\n  groups: \"per_million(pricing.completion) > `10` && ['premium'] || null\"\n"
PNG_1PX = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAA"
                           "AABJRU5ErkJggg==")
PIA = {"name": "Pia Premium", "email": "pia@example.test", "password": "Pia-pass-1234!", "role": "user"}
UMA = {"name": "Uma User", "email": "uma@example.test", "password": "Uma-pass-1234!", "role": "user"}
SLOW = 120_000  # ms: Open WebUI's first page load under a loaded 2-core machine


def require_browser() -> None:
    """Playwright and Chromium, or a skip (a failure when RINSYNC_REQUIRE_INTEGRATION=1)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright is not installed (pip install playwright; Chromium from apt, never playwright install)"
    else:
        reason = None if shutil.which(CHROMIUM) or Path(CHROMIUM).is_file() else f"no Chromium at {CHROMIUM}"
    if reason is None:
        return
    if harness.integration_required():
        pytest.fail(reason + " (RINSYNC_REQUIRE_INTEGRATION=1)", pytrace=False)
    pytest.skip(reason)


def expected_view() -> tuple[dict[str, dict], set[str], set[str]]:
    """By the spec oracle, apart from rinsync: kept name -> catalog record, the names a user sees, and the
    names limited to premium (above $10 per million output tokens)."""
    from spec_oracle import expected_drop, expected_name, expected_openwebui, expected_shown

    records = json.loads(CATALOG.read_text())["data"]
    ids = {r["id"] for r in records}
    shown = expected_shown(records)
    kept = {expected_name(r["id"]): r for r in records if expected_drop(r, TODAY, ids) is None}
    visible = {n for n, r in kept.items() if expected_openwebui(r, TODAY, shown)["active"]}
    premium = {n for n, r in kept.items() if float(r["pricing"]["completion"]) * 1e6 > 10}
    return kept, visible, premium


@dataclass
class Site:
    webui: OpenWebUI
    tokens: dict[str, str]  # user name -> session token
    kept: dict[str, dict]
    visible: set[str]
    premium: set[str]
    sync: object  # () -> CompletedProcess of one more `rinsync openwebui sync`


@pytest.fixture(scope="module")
def site(tmp_path_factory, fake_openrouter):
    harness.require_integration("litellm", "openwebui")
    require_browser()
    if not CATALOG.is_file():
        pytest.fail(f"shared catalog {CATALOG} missing (set RINSYNC_SHARED_DIR)")
    d = tmp_path_factory.mktemp("browser")
    config, extra = harness.fake_site(d, fake_openrouter.api_base)
    premium_rules = d / "90-premium.yaml"
    premium_rules.write_text(PREMIUM_RULES)
    harness.compile_into_config(config, CATALOG, RULES_DIR, extra)
    with LiteLLMProxy(config, log_dir=d / "proxy") as proxy:
        with OpenWebUI(proxy.url + "/v1", openai_key=proxy.master_key, log_dir=d / "webui") as webui:
            tokens = {}
            for user in (PIA, UMA):
                status, body = harness.http_json("POST", f"{webui.url}/api/v1/auths/add", body=user,
                                                 headers=webui.auth)
                assert status == 200 and body.get("role") == "user", body
                tokens[user["name"]] = body["token"]
                user["id"] = body["id"]
            status, group = harness.http_json("POST", f"{webui.url}/api/v1/groups/create",
                                              body={"name": "premium", "description": "expensive models"},
                                              headers=webui.auth)
            assert status == 200, group
            status, body = harness.http_json("POST", f"{webui.url}/api/v1/groups/id/{group['id']}/users/add",
                                             body={"user_ids": [PIA["id"]]}, headers=webui.auth)
            assert status == 200, body

            def sync():
                return harness.run_rinsync("openwebui", "sync", "--url", webui.url, "--catalog", CATALOG,
                                           "--rules", RULES_DIR, "--rules", extra, "--rules", premium_rules,
                                           "--config", config, "-v", env={"OPENWEBUI_API_KEY": webui.token()},
                                           timeout=600)

            r = sync()
            assert r.returncode == 0, r.stderr
            assert "412 Open WebUI model records: +412 created" in r.stdout + r.stderr
            kept, visible, premium = expected_view()
            assert len(kept) == 412
            yield Site(webui, tokens, kept, visible, premium, sync)


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def logged_in(browser, site: Site, user: str, request):
    """A page of Open WebUI with ``user``'s session (the token Open WebUI's own sign-in stores)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.add_init_script(f"localStorage.setItem('token', {json.dumps(site.tokens[user])});")
    page = context.new_page()
    page.set_default_timeout(SLOW)
    try:
        page.goto(site.webui.url + "/", wait_until="load")
        yield page
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{user.split()[0].lower()}.png"))
        raise
    finally:
        context.close()


def open_selector(page):
    page.locator('button[aria-label^="Selected model"]').first.click()
    listbox = page.locator("#model-selector-list")
    listbox.wait_for()
    return listbox


def listed(page) -> set[str]:
    """Every model id the selector offers (it renders only the rows in view: scroll through it)."""
    listbox = open_selector(page)
    seen: set[str] = set()
    for _ in range(1000):
        seen |= set(listbox.locator("button[role=option]").evaluate_all("els => els.map(e => e.dataset.value)"))
        if listbox.evaluate("e => { const top = e.scrollTop; e.scrollTop += 200; return e.scrollTop === top; }"):
            seen |= set(listbox.locator("button[role=option]").evaluate_all("els => els.map(e => e.dataset.value)"))
            break
        page.wait_for_timeout(30)
    listbox.evaluate("e => { e.scrollTop = 0; }")
    return seen


@pytest.mark.e2e
def test_a_group_member_sees_the_curated_set_with_its_premium_models(site: Site, browser, request):
    with logged_in(browser, site, PIA["name"], request) as page:
        seen = listed(page)
        assert len(seen) <= 150 < len(site.kept), len(seen)
        assert seen == site.visible, (sorted(seen - site.visible)[:5], sorted(site.visible - seen)[:5])
        assert site.premium & site.visible & seen, "no premium model is in the curated view"
        # the rules' order (Open WebUI's model order list): by provider, then the newest first
        page.wait_for_timeout(300)  # listed() left the selector open, scrolled back to its top
        rows = page.locator("#model-selector-list button[role=option]").evaluate_all(
            "els => els.map(e => e.dataset.value)")
        keys = [(site.kept[i]["id"].split("/")[0], -site.kept[i]["created"]) for i in rows]
        assert len(rows) >= 5 and keys == sorted(keys), rows
        assert keys[0] == min((site.kept[i]["id"].split("/")[0], -site.kept[i]["created"]) for i in site.visible)
        page.wait_for_timeout(500)
        if os.environ.get("RINSYNC_DOCS_SCREENSHOT") == "1":
            DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS_SHOT))


@pytest.mark.e2e
def test_a_user_outside_the_group_does_not_see_the_premium_models(site: Site, browser, request):
    with logged_in(browser, site, UMA["name"], request) as page:
        seen = listed(page)
        assert seen == site.visible - site.premium
        assert not seen & site.premium


@pytest.mark.e2e
def test_the_info_tooltip_shows_the_description_with_its_price(site: Site, browser, request):
    from spec_oracle import expected_openwebui

    name = "openrouter/ai21-jamba-large-1.7"
    want = expected_openwebui(site.kept[name], TODAY)["description"]
    price = want.rsplit("\n\n", 1)[-1]
    assert " per 1M tokens" in price
    with logged_in(browser, site, UMA["name"], request) as page:
        listbox = open_selector(page)
        option = listbox.locator(f'button[role=option][data-value="{name}"]')
        option.hover()
        option.locator("span.sr-only + div").first.hover()
        tooltip = page.locator("[data-tippy-root]").filter(has_text=price)
        tooltip.first.wait_for()
        assert " ".join(tooltip.first.inner_text().split()) == " ".join(want.split())


def attach_image(page, site: Site, tmp_path: Path, name: str) -> int:
    """Select ``name`` (searching by its display name), attach a PNG; the number of images attached after."""
    open_selector(page)
    page.locator('input[aria-label="Search In Models"]').fill(site.kept[name]["name"])
    page.locator(f'button[role=option][data-value="{name}"]').click()
    image = tmp_path / "dot.png"
    image.write_bytes(PNG_1PX)
    page.wait_for_timeout(1000)
    before = page.locator("img").count()
    page.locator("input[type=file]").first.set_input_files(str(image))
    page.wait_for_timeout(4000)  # an attached image shows as a thumbnail in the message box
    return page.locator("img").count() - before


@pytest.mark.e2e
def test_an_image_is_refused_for_a_text_only_model_and_taken_by_a_vision_model(site: Site, browser, request,
                                                                             tmp_path):
    from spec_oracle import expected_openwebui

    text_only = "openrouter/ai21-jamba-large-1.7"
    vision = next(n for n in sorted(site.visible - site.premium)
                  if expected_openwebui(site.kept[n], TODAY)["capabilities"]["vision"])
    assert expected_openwebui(site.kept[text_only], TODAY)["capabilities"]["vision"] is False
    with logged_in(browser, site, UMA["name"], request) as page:
        assert attach_image(page, site, tmp_path, text_only) == 0
    with logged_in(browser, site, UMA["name"], request) as page:
        assert attach_image(page, site, tmp_path, vision) == 1


@pytest.mark.e2e
def test_an_admin_who_switches_a_hidden_model_on_keeps_it_on_across_syncs(site: Site):
    name = "openrouter/openai-gpt-4o"  # hidden by the curated view (a generation 180 days behind GPT-5.6)
    assert name in site.kept and name not in site.visible

    def user_sees() -> set[str]:
        status, body = harness.http_json("GET", f"{site.webui.url}/api/models?refresh=true", timeout=60,
                                         headers={"Authorization": f"Bearer {site.tokens[UMA['name']]}"})
        assert status == 200, body
        return {m["id"] for m in body["data"]}

    assert name not in user_sees()
    status, body = harness.http_json("POST", f"{site.webui.url}/api/v1/models/model/toggle?id={name}",
                                     headers=site.webui.auth, timeout=60)
    assert status == 200 and body["is_active"] is True, body
    for _ in range(2):
        r = site.sync()
        assert r.returncode == 0, r.stderr
        assert f"= {name}: kept the admin's active" in r.stdout + r.stderr
        assert name in user_sees()
