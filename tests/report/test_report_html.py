"""The HTML report opens in headless Chromium: the overview table and the charts are in the
DOM, sorting and filtering work, and the page makes no network request. A screenshot is saved
as a test artifact (GENERALBENCH_TEST_ARTIFACTS, default <repo>/test-artifacts)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from tests.conftest import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("GENERALBENCH_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(scope="module")
def html_report(report_runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    res = run_cli("report", report_runs["baseline"], report_runs["oracle"], "--data",
                  report_runs["data"], "--out", out, "--resamples", "200", "--quiet")
    assert res.code == 0, res.err
    return out


def test_html_is_self_contained(html_report):
    text = html_report.read_text()
    # nothing to fetch: no external script, stylesheet, image, font or frame
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", text)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:|//)", text)
    assert "Content-Security-Policy" in text and text.count("<svg") >= 4


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must not download drivers
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,1800"):
        opts.add_argument(flag)
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"gb-chromium-{os.getpid()}"
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_html_report_opens_in_headless_chromium_without_network(browser, html_report):
    from selenium.webdriver.common.by import By

    browser.get(html_report.as_uri())
    overview = browser.find_element(By.ID, "t-overview")
    header = [th.text for th in overview.find_elements(By.CSS_SELECTOR, "thead th")]
    assert header[:4] == ["Rank", "Model", "Level", "P(level)"]
    models = [r.find_elements(By.TAG_NAME, "td")[1].text
              for r in overview.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert models == ["oracle", "baseline"]
    charts = browser.find_elements(By.CSS_SELECTOR, "div.chart svg")
    assert len(charts) == 4 and all(c.size["width"] > 100 and c.size["height"] > 50 for c in charts)
    assert browser.execute_script("return document.querySelectorAll('div.chart svg path').length") > 20

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report-html.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

    # the per-task table sorts and filters
    tasks = browser.find_element(By.ID, "t-tasks")
    n_rows = len(tasks.find_elements(By.CSS_SELECTOR, "tbody tr"))
    assert n_rows == 16
    browser.find_element(By.CSS_SELECTOR, "input[data-table='t-tasks']").send_keys("time-series")
    visible = [r for r in tasks.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
    assert len(visible) == 2
    p_win = [i for i, th in enumerate(tasks.find_elements(By.CSS_SELECTOR, "thead th"))
             if th.text.startswith("P(win)")][0]
    tasks.find_elements(By.CSS_SELECTOR, "thead th")[p_win].click()
    col = [float(r.find_elements(By.TAG_NAME, "td")[p_win].get_attribute("textContent"))
           for r in tasks.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert col == sorted(col)

    # no request beyond the file itself: resource timing and the DevTools network log
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    page, every = [], []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            every.append(msg["params"]["request"]["url"])
            if msg["params"].get("documentURL") == html_report.as_uri():
                page.append(msg["params"]["request"]["url"])
    # the page's own document, then only inline data: (the heat map's embedded PNG)
    assert page[0] == html_report.as_uri() and all(u.startswith("data:") for u in page[1:]), page
    assert not [u for u in every if u.startswith(("http:", "https:", "ws:", "wss:"))], every
