"""The operator's pages in a real browser: headless Chromium (Debian's package) driven by Playwright.

Playwright talks to the system browser (``executable_path``); its own browser downloads are
never used (``.ci/run`` installs Debian's ``chromium`` when it is missing). The app runs as
pytest-django's live server, on the same Redis, moto S3 and database as the rest of the suite.
Each test saves a full-page screenshot under ``var/test-artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.models import MessageAttachment
from media_store.models import Blob
from media_store.ops.timeline import timeline
from tests.support.media import pdf_bytes, png_bytes

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"
PASSWORD = "browser-test-password"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt: run make install")
    # Playwright's sync API keeps an event loop in this thread while it runs; the database work
    # of these tests (fixtures, asserts, the flush after each) is plain synchronous code, which
    # Django would refuse next to a running loop. Only for this module, restored afterwards.
    with pytest.MonkeyPatch.context() as patch, sync_api.sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", "operator@example.test", PASSWORD)


@pytest.fixture
def page(chromium, live_server, operator, request):
    """A logged-in admin tab; a screenshot of where it ended is saved after the test."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto("/admin/login/?next=/admin/")
    tab.fill("#id_username", operator.username)
    tab.fill("#id_password", PASSWORD)
    tab.click("input[type=submit]")
    tab.wait_for_url("**/admin/")
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def save(tab) -> None:
    tab.click("input[name=_save]")
    tab.wait_for_load_state("load")


def preview_width(tab) -> int:
    """The preview image's decoded width: 0 unless the browser really got the bytes."""
    image = tab.locator("div.field-preview img")
    image.wait_for()
    tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    return image.evaluate("img => img.naturalWidth")


def test_uploading_a_file_lands_on_its_page_with_short_url_and_preview(page, tmp_path):
    source = tmp_path / "holiday.png"
    source.write_bytes(png_bytes(120, 80))

    page.goto("/admin/chat/messageattachment/add/")
    page.set_input_files("#id_upload", str(source))
    save(page)

    attachment = MessageAttachment.objects.get()
    assert page.url.endswith(f"/admin/chat/messageattachment/{attachment.pk}/change/")
    assert "was added successfully" in page.inner_text("ul.messagelist")
    assert page.locator(f'a[href="{attachment.short_url}"]').count() == 1
    assert preview_width(page) == 120


def test_a_url_is_downloaded_from_the_admin(page, server, allow_private):
    url = server.serve("/pictures/red.png", png_bytes(64, 48), "image/png")

    page.goto("/admin/chat/messageattachment/add/")
    page.fill("#id_url", url)
    save(page)

    attachment = MessageAttachment.objects.get()
    assert attachment.original_filename == "red.png"
    assert page.url.endswith(f"/admin/chat/messageattachment/{attachment.pk}/change/")
    assert preview_width(page) == 64


def test_a_refused_url_is_shown_as_a_form_error_and_nothing_is_stored(page, server):
    url = server.serve("/secret.pdf", pdf_bytes(), "application/pdf")  # 127.0.0.1: the SSRF guard refuses

    page.goto("/admin/chat/messageattachment/add/")
    page.fill("#id_url", url)
    save(page)

    errors = page.locator("ul.errorlist").all_inner_texts()
    assert page.url.endswith("/admin/chat/messageattachment/add/")
    assert len(errors) == 1
    assert "127.0.0.1" in errors[0]
    assert page.input_value("#id_url") == url  # the operator's input is kept for a correction
    assert server.connections == 0
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0


def test_the_media_cache_page_draws_the_last_hour(page, tmp_path):
    source = tmp_path / "voice.png"
    source.write_bytes(png_bytes(10, 10))
    page.goto("/admin/chat/messageattachment/add/")
    page.set_input_files("#id_upload", str(source))
    save(page)
    token = MessageAttachment.objects.get().media_hash
    timeline.sample()  # what the sampler thread of a gunicorn worker does at the start of each minute
    for _ in range(3):
        assert page.request.get(f"/media/{token}").status == 200

    page.goto("/admin/media-cache/")

    chart = page.locator("#media-cache-chart")
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 600
    assert box["height"] > 150
    assert page.locator("#media-cache-chart g.minute rect").count() >= 1
    totals = page.locator("#media-cache-chart g.minute").evaluate_all("gs => gs.map(g => +g.dataset.total)")
    assert sum(totals) >= 3
    assert page.locator("#content-main caption", has_text="Hot tier").count() == 1


def test_the_api_reference_renders_from_packaged_files(page, live_server):
    external = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else external.append(r.url))

    page.goto("/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()

    assert page.locator(".opblock-summary-path", has_text="/media/stats").count() == 1
    assert page.locator(".opblock-summary-path", has_text="/media/{media_hash}").count() >= 1
    assert page.locator("button.authorize").count() == 1  # the bearer scheme
    assert [url for url in external if not url.startswith("data:")] == []
