"""A real browser (Debian's chromium driven by selenium) signs up, uploads a submission through
the form, waits for scoring, publishes it and sees the model ranked on the Scope-A board. The
screenshot is saved under $GENERALBENCH_TEST_ARTIFACTS (default tests/artifacts/, gitignored)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")

ARTIFACTS = Path(os.environ.get("GENERALBENCH_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[1] / "artifacts"))


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service as ChromeService

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=ChromeService(driver_path))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_for(driver, what, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = what(driver)
            if value:
                return value
        except Exception:  # noqa: BLE001 - the page is reloading
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out; page was:\n{driver.page_source[:2000]}")


def _is_stale(element) -> bool:
    """True once the page that held `element` has been replaced."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    return False


def test_sign_up_upload_and_see_the_model_ranked(service, bench, browser):
    from selenium.webdriver.common.by import By

    browser.get(service.url + "/signup")
    browser.find_element(By.ID, "email").send_keys("browser@example.org")
    browser.find_element(By.ID, "password").send_keys("correct horse battery")
    browser.find_element(By.ID, "team").send_keys("Browser Team")
    browser.find_element(By.ID, "signup").click()
    _wait_for(browser, lambda d: "Team Browser Team" in d.page_source)
    browser.get(service.url + "/submit")
    browser.find_element(By.ID, "archive").send_keys(str(bench.oracle_zip))
    browser.find_element(By.ID, "upload").click()
    _wait_for(browser, lambda d: d.find_element(By.ID, "state").text == "scored")
    name = browser.find_element(By.ID, "model_name")
    name.clear()
    name.send_keys("Browser-Oracle")
    browser.find_element(By.ID, "public").click()
    publish = browser.find_element(By.ID, "publish")
    publish.click()
    # the form's POST navigates; a get() before its answer arrives can be overtaken by it
    _wait_for(browser, lambda d: _is_stale(publish))
    browser.get(service.url + "/?scope=A")
    board = _wait_for(browser, lambda d: d.find_element(By.ID, "board"))
    rows = board.find_elements(By.CSS_SELECTOR, "tbody tr")
    ranked = [r.find_elements(By.TAG_NAME, "td") for r in rows]
    ours = [cells for cells in ranked if "Browser-Oracle" in cells[1].text]
    assert ours and ours[0][0].text.strip().isdigit()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "leaderboard-scope-a.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000
