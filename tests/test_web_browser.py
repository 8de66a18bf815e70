"""The page in a real browser: headless Chromium driven by selenium draws a stroke and reads the guess, clicks a
neuron and sees its weight image, asks for the nudges, and trains and sees the curve move.

Skips, saying why, without selenium (``pip install -e ".[web]"``) or without Chromium and its driver (Debian:
``apt-get install chromium chromium-driver``); ``.ci/run`` installs both, so CI runs it. Screenshots are written to
``$TINYGRAD_MLP_SCREENSHOTS`` when it names a folder (the README's come from
``TINYGRAD_MLP_SCREENSHOTS=docs/img pytest tests/test_web_browser.py``), else to a temporary folder.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from web_page import running_page

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[web]')")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
DRIVER = shutil.which("chromedriver")
NO_BROWSER = "no Chromium or no chromedriver (Debian: apt-get install chromium chromium-driver)"
pytestmark = pytest.mark.skipif(BROWSER is None or DRIVER is None, reason=NO_BROWSER)


@pytest.fixture(scope="module")
def url():
    with running_page() as srv:
        yield srv.url


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    profile = tempfile.mkdtemp(prefix="tinygrad-mlp-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,2600"):
        options.add_argument(flag)
    options.binary_location = BROWSER
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots():
    folder = Path(os.environ.get("TINYGRAD_MLP_SCREENSHOTS") or tempfile.mkdtemp(prefix="tinygrad-mlp-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(png: bytes, path: Path, height: int | None = None) -> None:
    """A screenshot (its top ``height`` pixels), in 128 colours when Pillow is there (matplotlib brings it): the docs
    keep pictures small."""
    try:
        from PIL import Image
    except ImportError:
        path.write_bytes(png)
        return
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if height is not None:
        image = image.crop((0, 0, image.width, min(height, image.height)))
    image.quantize(128).save(path, optimize=True)


def wait(driver, condition, seconds=60):
    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(lambda d: d.execute_script(condition))


def canvas_ink(driver, element_id: str) -> int:
    """How many pixels of the canvas are neither white nor transparent."""
    return driver.execute_script(f"""
        const c = document.getElementById('{element_id}');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250)) n++;
        return n;""")


def test_the_page_trains_draws_thinks_and_nudges(browser, url, shots):
    browser.get(url)
    wait(browser, "return state.result !== null")
    assert browser.execute_script("return document.getElementById('guess').textContent") in "0123456789"

    # 1. train on synthetic digits and watch the curve move and the first layer change
    before = browser.execute_script("return state.net.weights[0][0].slice(0, 50)")
    browser.find_element(By.ID, "epochs").clear()
    browser.find_element(By.ID, "epochs").send_keys("2")
    browser.find_element(By.ID, "train-start").click()
    wait(browser, "return Number(document.getElementById('train-state').dataset.points || 0) >= 8", 120)
    points = browser.execute_script("return state.points")
    assert points[-1]["step"] > points[0]["step"] and points[-1]["epoch"] > points[0]["epoch"]
    assert canvas_ink(browser, "curve") > 500
    save(browser.find_element(By.ID, "train-panel").screenshot_as_png, shots / "serve-training.png")
    browser.find_element(By.ID, "train-stop").click()
    wait(browser, "return /stopped|finished/.test(document.getElementById('train-state').textContent)")
    wait(browser, "return state.pending === null")
    after = browser.execute_script("return state.net.weights[0][0].slice(0, 50)")
    assert after != before  # the page shows the trained network

    # 2. draw a stroke (a "1"): the network sees it prepared, and guesses
    pad = browser.find_element(By.ID, "draw")
    actions = ActionChains(browser)
    actions.move_to_element_with_offset(pad, 0, -90).click_and_hold()
    for _ in range(18):
        actions.move_by_offset(0, 10)
    actions.release().perform()
    wait(browser, "return state.pending === null && state.result.input.some(v => v > 0.5)")
    seen = browser.execute_script("return state.result.input")
    rows = [r for r in range(28) if any(seen[r * 28 + c] > 0 for c in range(28))]
    assert len(rows) == 20  # scaled to the 20x20 box
    guess = browser.find_element(By.ID, "guess").text
    assert guess in list("0123456789")
    assert browser.execute_script("return String(state.result.guess)") == guess
    save(browser.get_screenshot_as_png(), shots / "serve-page.png", height=1000)

    # 3. click a first-layer neuron: its weights as a 28x28 image; a second-layer one: bars too
    browser.find_element(By.CSS_SELECTOR, 'circle.neuron[data-layer="1"][data-index="3"]').click()
    assert "Layer 1, neuron 3" in browser.find_element(By.ID, "neuron-caption").text
    assert canvas_ink(browser, "neuron-weights") > 1000
    browser.find_element(By.CSS_SELECTOR, 'circle.neuron[data-layer="2"][data-index="5"]').click()
    assert "Layer 2, neuron 5" in browser.find_element(By.ID, "neuron-caption").text
    assert browser.find_element(By.ID, "neuron-bars").is_displayed()

    # 4. nudges for the right answer 1, summed over 5 digits
    browser.execute_script("document.getElementById('right-answer').value = '1'")
    browser.find_element(By.ID, "nudge-batch").clear()
    browser.find_element(By.ID, "nudge-batch").send_keys("5")
    browser.find_element(By.ID, "nudges").click()
    wait(browser, "return document.getElementById('nudge-table') !== null")
    wishes = browser.execute_script(
        "return Array.from(document.querySelectorAll('#nudge-outputs .value'), e => Number(e.textContent))")
    assert len(wishes) == 10
    assert wishes[1] > 0 and all(w <= 0 for i, w in enumerate(wishes) if i != 1)  # up for 1, down for the rest
    assert len(browser.find_elements(By.CSS_SELECTOR, "#nudge-table tr")) == 1 + 10 + 5
    assert "over 5 digit(s)" in browser.find_element(By.ID, "nudge-cost").text
    save(browser.find_element(By.ID, "nudge-panel").screenshot_as_png, shots / "serve-nudges.png")
    save(browser.find_element(By.ID, "neuron-panel").screenshot_as_png, shots / "serve-neuron.png")


def test_the_page_by_keyboard_and_on_a_phone(browser, url, shots):
    browser.set_window_size(390, 844)
    try:
        browser.get(url)
        wait(browser, "return state.result !== null")
        pad = browser.find_element(By.ID, "draw")
        pad.click()
        browser.find_element(By.ID, "clear").click()
        pad.send_keys(Keys.SHIFT + Keys.ARROW_DOWN * 8)
        wait(browser, "return state.pending === null && state.ink.some(v => v > 0.5)")
        assert sum(1 for v in browser.execute_script("return Array.from(state.ink)") if v > 0.5) >= 8
        neuron = browser.find_element(By.CSS_SELECTOR, 'circle.neuron[data-layer="1"][data-index="0"]')
        neuron.send_keys(Keys.ENTER)
        assert "Layer 1, neuron 0" in browser.find_element(By.ID, "neuron-caption").text
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400  # nothing wider than the phone's screen
        time.sleep(0.2)
        save(browser.get_screenshot_as_png(), shots / "serve-phone.png")
    finally:
        browser.set_window_size(1280, 2600)
