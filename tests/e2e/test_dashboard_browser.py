"""The dashboard in a real browser: headless Debian chromium driven by selenium against uvicorn serving a
seeded hub; replaying a quarantined record changes the page. The screenshot is kept as
artifacts/dashboard.png (the CI artefact).

Chromium is installed with apt when missing (with CI=true a failed install fails the test; locally it
skips with the reason).
"""

import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import SandboxServer
from sync.replay import edit
from sync.store import Store
from sync.store.tables import SyncErrorRow
from tests.conftest import unavailable
from tests.web_helpers import PERIOD, seed, web_settings
from web.app import create_app

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage")
SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard.png"
WAIT_SECONDS = 20


def install_chromium() -> str | None:
    """Install Debian's chromium and its driver (once, under a lock: parallel workers share dpkg); None when
    both are there, else why not."""
    with open("/tmp/partnersync-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists() and CHROMEDRIVER.exists():
            return None
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "chromium", "chromium-driver"]
        try:
            done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:  # stale package lists: refresh once and try again
                subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
                done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"cannot run apt-get: {exc}"
        if done.returncode != 0 or not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
            return f"apt-get install chromium chromium-driver failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        unavailable("selenium (the dev extra)", exc)
    problem = install_chromium()
    if problem:
        unavailable("chromium", problem)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    yield driver
    driver.quit()


def test_replay_in_the_browser_changes_the_page(store: Store, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    hub = seed(store, web_settings())
    with store.session() as s:
        error = s.query(SyncErrorRow).one()
    edit(store, error.id, {**error.raw_payload, "Phone": "+1 415 555 0100"})  # an operator fixed the payload
    with SandboxServer(create_app(hub.engine.settings, store, systems=hub.engine.systems)) as server:
        browser.delete_all_cookies()
        browser.get(f"{server.url}/?period={PERIOD}")
        row = browser.find_element(By.ID, f"error-{error.id}")
        assert "not a phone number" in row.text
        assert len(browser.find_elements(By.CSS_SELECTOR, "#streams tbody tr")) == 4
        assert len(browser.find_elements(By.CSS_SELECTOR, "#charts svg polyline, #charts svg circle")) >= 4
        row.find_element(By.TAG_NAME, "button").click()
        flash = WebDriverWait(browser, WAIT_SECONDS).until(ready.presence_of_element_located((By.ID, "flash")))
        assert f"record {error.id} replayed: fixed" in flash.text
        assert not browser.find_elements(By.ID, f"error-{error.id}")
        assert "Nothing quarantined." in browser.find_element(By.ID, "quarantine").text
        assert browser.current_url.endswith(f"/?period={PERIOD}")  # back on the page it came from
        for _ in range(2):  # the page reflows once the window is tall enough to hold it
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(1400, int(height) + 200)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOT))
    with store.session() as s:
        assert s.get(SyncErrorRow, error.id).status == "resolved"  # type: ignore[union-attr]
