"""The demo command: a bad setting is one line before a model loads; (opt-in, -m browser) the page in Chromium."""

from __future__ import annotations

import io
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

import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image

from face2sketch.demo import CAMERA_GONE
from face2sketch.perf.load import free_port
from tests.conftest import PROJECT_ROOT, run_cli
from tests.test_demo import pasted_face


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
    """Opt in with ``pytest -m browser`` (needs Debian's chromium and chromium-driver). Chromium's fake camera plays a
    clip of a colour portrait into the live tab; the frames that come back carry the grey sketch over the face and
    the camera's own colours around it. When the camera goes away, one line beside the tab says so. A video uploaded
    beside it comes back as a video the page plays."""
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    frame = portrait_frame()
    camera = write_y4m(tmp_path / "camera.y4m", frame, frames=25)
    with demo_in_chromium(
        tmp_path, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={camera}"
    ) as browser:
        wait = WebDriverWait(browser, 90)
        wait.until(ec.element_to_be_clickable((By.XPATH, "//button[@role='tab'][contains(., 'Live camera')]"))).click()
        wait.until(ec.element_to_be_clickable((By.XPATH, "//*[@id='live-camera']//button[contains(., 'Access Webcam')]"))).click()
        wait.until(ec.element_to_be_clickable((By.XPATH, "//*[@id='live-camera']//button[contains(., 'Record')]"))).click()
        first = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#live-result img"))).get_attribute("src")
        wait.until(lambda _: browser.find_element(By.CSS_SELECTOR, "#live-result img").get_attribute("src") != first)
        shown = browser.find_element(By.CSS_SELECTOR, "#live-result img").get_attribute("src")
        result = np.asarray(Image.open(io.BytesIO(httpx.get(shown, timeout=30).content)).convert("RGB")).astype(int)
        assert browser.find_element(By.ID, "live-camera-status").text == ""
        browser.execute_script("document.querySelector('#live-camera video').srcObject.getVideoTracks().forEach((t) => t.stop())")
        wait.until(ec.text_to_be_present_in_element((By.ID, "live-camera-status"), CAMERA_GONE))  # the camera went away

        browser.find_element(By.CSS_SELECTOR, "#video-upload input[type=file]").send_keys(str(write_clip(tmp_path / "me.mp4", frame, frames=8)))
        wait.until(lambda _: "KB" in browser.find_element(By.ID, "video-upload").text)  # uploaded: its size is shown
        browser.find_element(By.ID, "translate-video").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "video-status"), "translated 8 frames"))
        playing = "const video = document.querySelector('#video-result video'); return video ? video.videoWidth : 0"
        assert wait.until(lambda _: browser.execute_script(playing)) == 640, "the page decodes the sketch video"
    assert result.shape == frame.shape
    face, sides = (slice(140, 220), slice(270, 370)), [(slice(20, 300), slice(120, 180)), (slice(20, 300), slice(450, 520))]
    assert colourfulness(frame[face]) > 30 and colourfulness(result[face]) < 8  # the sketch is grey
    assert all(colourfulness(result[side]) > 30 for side in sides)  # the camera's colours beside the face


def portrait_frame() -> np.ndarray:
    """A 640x480 camera frame: matplotlib's colour portrait of Grace Hopper on a grey wall."""
    photo = Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB").resize((410, 480))
    frame = Image.new("RGB", (640, 480), (200, 200, 200))
    frame.paste(photo, (115, 0))
    return np.asarray(frame).astype(int)


def write_y4m(path: Path, frame: np.ndarray, frames: int) -> Path:
    """``frame`` repeated as a YUV4MPEG2 clip (4:2:0), the format Chromium's fake camera plays from a file."""
    height, width = frame.shape[:2]
    luma, blue, red = Image.fromarray(frame.astype(np.uint8)).convert("YCbCr").split()
    planes = luma.tobytes() + blue.resize((width // 2, height // 2)).tobytes() + red.resize((width // 2, height // 2)).tobytes()
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode() + (b"FRAME\n" + planes) * frames)
    return path


def write_clip(path: Path, frame: np.ndarray, frames: int) -> Path:
    from face2sketch.pictures.video import video_writer

    with video_writer(path, 25.0, (frame.shape[1], frame.shape[0])) as sink:
        for _ in range(frames):
            sink.write(frame.astype(np.uint8))
    return path


def colourfulness(pixels: np.ndarray) -> float:
    """The mean spread between a pixel's largest and smallest channel: 0 for grey."""
    return float((pixels.max(axis=-1) - pixels.min(axis=-1)).mean())


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
