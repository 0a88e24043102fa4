"""The demo command: a bad setting is one line before a model loads; (opt-in, -m browser) the page in Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import PROJECT_ROOT, run_cli
from tests.test_demo import free_port, pasted_face


@pytest.mark.browser
def test_the_shipped_models_page_translates_an_upload_and_a_drawing_in_chromium(tmp_path: Path) -> None:
    """Opt in with ``pytest -m browser`` (needs Debian's chromium and chromium-driver).

    No ckpt: the page serves both shipped models. The photo tab translates an upload; the sketch tab's canvas opens
    with its brush selected, so strokes drawn at once become a drawing that is translated to a photo.
    FACE2SKETCH_SCREENSHOT keeps the photo tab's screenshot (docs/demo.png) and <stem>_sketch.png the sketch tab's.
    """
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    screenshot = Path(os.environ.get("FACE2SKETCH_SCREENSHOT", tmp_path / "demo.png"))
    with demo_in_chromium(tmp_path) as browser:
        wait = WebDriverWait(browser, 90)
        photo, _ = pasted_face(tmp_path)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#upload-f2sk input[type=file]"))).send_keys(str(photo))
        wait.until(ec.text_to_be_present_in_element((By.ID, "upload-f2sk"), photo.stem))  # Gradio shows the stem and the suffix apart
        browser.find_element(By.ID, "translate-f2sk").click()
        assert wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#result-f2sk img"))).get_attribute("src")
        wait.until(ec.text_to_be_present_in_element((By.ID, "status-f2sk"), "translated"))
        browser.save_screenshot(str(screenshot))

        browser.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Sketch')]").click()
        canvas = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#canvas-sk2f canvas")))
        time.sleep(1)  # the page's script selects the brush as the canvas appears
        strokes = ActionChains(browser)
        for dy in (-60, 0, 60):
            strokes.move_to_element_with_offset(canvas, -80, dy).click_and_hold().move_by_offset(80, 20).move_by_offset(80, -20).release()
        strokes.perform()
        browser.find_element(By.ID, "translate-drawing-sk2f").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "status-sk2f"), "translated"))
        assert wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#result-sk2f img"))).get_attribute("src")
        browser.save_screenshot(str(screenshot.with_name(f"{screenshot.stem}_sketch.png")))
        assert Image.open(screenshot).size[0] > 600


def wait_for_server(url: str, server: subprocess.Popen, seconds: int = 120) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            assert server.poll() is None, server.stderr.read()[-2000:] if server.stderr else "the demo exited"
            assert time.time() < deadline, f"the demo did not start in {seconds} s"
            time.sleep(1)


def test_a_bad_demo_setting_is_one_line_and_exit_2_before_a_model_is_loaded(tmp_path: Path) -> None:
    # the model named does not exist: the settings are refused before anything tries to load it
    result = run_cli("face2sketch.demo", "max_upload_mb=0", f"ckpt={tmp_path / 'absent.onnx'}", f"paths.output_root={tmp_path}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["face2sketch: error: max_upload_mb=0 is not allowed: use a whole number of megabytes >= 1"]


@pytest.mark.browser
def test_the_live_tab_streams_a_fake_camera_through_the_filter_in_chromium(tmp_path: Path) -> None:
    """Opt in with ``pytest -m browser`` (needs Debian's chromium and chromium-driver). Chromium's fake camera (a test
    pattern, no face) streams into the live tab; frames come back from the server into the result image."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with demo_in_chromium(tmp_path, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream") as browser:
        wait = WebDriverWait(browser, 90)
        wait.until(ec.element_to_be_clickable((By.XPATH, "//button[@role='tab'][contains(., 'Live camera')]"))).click()
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#live-camera button"))).click()
        first = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#live-result img"))).get_attribute("src")
        wait.until(lambda _: browser.find_element(By.CSS_SELECTOR, "#live-result img").get_attribute("src") != first)


@contextmanager
def demo_in_chromium(tmp_path: Path, *arguments: str) -> Iterator[Any]:
    """The demo serving both shipped models in a process of its own, and a headless Chromium (with ``arguments``) on
    its page; both closed afterwards. Skips where chromium and chromedriver are not installed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "face2sketch.demo", f"server_port={port}", f"paths.output_root={tmp_path / 'logs'}"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", *arguments):
        options.add_argument(argument)
    browser = None
    try:
        wait_for_server(url, server)
        browser = webdriver.Chrome(service=Service(chromedriver), options=options)
        browser.get(url)
        yield browser
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        server.wait(timeout=30)
