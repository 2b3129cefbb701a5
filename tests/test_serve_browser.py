"""The page of `cnaps serve` in a real headless Chromium (Debian's chromium + chromium-driver,
driven by selenium): load, upload a photo, run x4, see the slider and the result, download it;
the answer tab; a phone-sized window. Skipped, saying why, where no browser is installed.

Set CNAPS_SCREENSHOT_DIR to keep the screenshots (docs/serve_*.png were made this way)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from serve_server import Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no browser: install Debian's chromium and chromium-driver "
           "(apt-get install chromium chromium-driver) to run the browser test")
FIXTURE_PROMPTS = Path(__file__).resolve().parent / "fixtures" / "prompts"
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                    "(pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1000,1100"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory, released_model):
    srv = Server(tmp_path_factory.mktemp("serve") / "jobs", "--workers", "1")
    yield srv
    srv.stop()


def screenshot(driver, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CNAPS_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    driver.save_screenshot(str(path))
    return path


def wait_until(condition, timeout: float = 300, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def finished_download(folder: Path) -> Image.Image | None:
    """The downloaded PNG once Chromium has finished writing it (it first makes an empty
    placeholder under the final name and writes into a .crdownload file)."""
    if list(folder.glob("*.crdownload")):
        return None
    for path in folder.glob("*.png"):
        try:
            with Image.open(path) as img:
                img.load()
                return img.copy()
        except OSError:
            return None
    return None


def test_upload_run_x4_compare_zoom_download(browser, server, tmp_path):
    from selenium.webdriver.common.by import By
    from skimage import data

    photo = tmp_path / "face.png"
    face = data.astronaut()[90:170, 170:250]  # 80x80: the astronaut's face
    Image.fromarray(face).save(photo)
    browser.get(server.url + "/")
    find = browser.find_element
    assert "cnaps" in browser.title
    find(By.ID, "file").send_keys(str(photo))
    scale = find(By.ID, "scale")
    scale.clear()
    scale.send_keys("4")
    find(By.ID, "run").click()
    # The progress bar shows while the job runs.
    wait_until(lambda: find(By.ID, "progress").is_displayed(), 60, "the progress bar")
    wait_until(lambda: find(By.ID, "result").is_displayed()
               or "error" in find(By.ID, "status").text, what="the result")
    assert "done" in find(By.ID, "status").text, find(By.ID, "status").text
    natural = browser.execute_script(
        "const a = document.getElementById('after'), b = document.getElementById('before');"
        "return [a.naturalWidth, a.naturalHeight, b.naturalWidth, b.naturalHeight];")
    assert natural == [320, 320, 80, 80]
    # The slider moves the cut between the input (nearest neighbour) and LIIF.
    browser.execute_script("const s = document.getElementById('slider'); s.value = 30;"
                           "s.dispatchEvent(new Event('input'));")
    cut = float(find(By.ID, "before-wrap").value_of_css_property("width").removesuffix("px"))
    assert cut == pytest.approx(0.3 * find(By.ID, "compare").size["width"], abs=1.5)
    width_1 = find(By.ID, "compare").size["width"]
    browser.execute_script("const z = document.getElementById('zoom'); z.value = 2;"
                           "z.dispatchEvent(new Event('input'));")
    assert find(By.ID, "compare").size["width"] == pytest.approx(2 * width_1, abs=2)
    browser.execute_script("const z = document.getElementById('zoom'); z.value = 1;"
                           "z.dispatchEvent(new Event('input'));")
    screenshot(browser, "serve_upscale.png", tmp_path)
    find(By.ID, "download").click()
    got = wait_until(lambda: finished_download(browser.downloads), 60, "the download")
    assert got.size == (320, 320)
    # The downloaded file is the LIIF output of the face: close to its bicubic enlargement.
    bicubic = np.asarray(Image.fromarray(face).resize((320, 320), Image.BICUBIC), np.float64)
    mse = np.mean((np.asarray(got.convert("RGB"), np.float64) - bicubic) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 25


def test_answer_tab_shows_the_answer_page(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    find = browser.find_element
    find(By.ID, "tab-answer").click()
    assert find(By.ID, "panel-answer").is_displayed()
    assert not find(By.ID, "panel-upscale").is_displayed()
    text = (FIXTURE_PROMPTS / "inpaint_lama.txt").read_text()
    browser.execute_script("document.getElementById('prompt-text').value = arguments[0];", text)
    find(By.ID, "answer-run").click()
    wait_until(lambda: find(By.ID, "answer-frame").is_displayed()
               or "error" in find(By.ID, "answer-status").text, what="the answer")
    assert find(By.ID, "answer-status").text == "done"
    browser.switch_to.frame(find(By.ID, "answer-frame"))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "inpaint" in body.lower()
    browser.switch_to.default_content()
    shot = screenshot(browser, "serve_answer.png", tmp_path)
    # The top of the answer, as the README's screenshot shows it: kept beside the screenshot,
    # so an answer that changes tells that docs/serve_answer.png must be made again.
    top = "\n".join(body.splitlines()[:12]) + "\n"
    shot.with_suffix(".txt").write_text(top, encoding="utf-8")
    documented = DOCS / "serve_answer.txt"
    assert documented.is_file() and documented.read_text(encoding="utf-8") == top, (
        "docs/serve_answer.png no longer shows the answer: make it again with "
        "CNAPS_SCREENSHOT_DIR=docs pytest tests/test_serve_browser.py")


def test_phone_sized_window_needs_no_sideways_scrolling(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    try:
        browser.get(server.url + "/")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth;")
        assert overflow <= 0
        run = browser.find_element(By.ID, "run")
        assert run.is_displayed() and run.rect["x"] + run.rect["width"] <= 390
        screenshot(browser, "serve_phone.png", tmp_path)
    finally:
        browser.set_window_size(1000, 1100)
