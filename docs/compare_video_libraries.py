"""Compare the video libraries a plain ``pip install`` gives (no system FFmpeg): OpenCV (opencv-python-headless, a
dependency already), PyAV and imageio-ffmpeg, on the clips the video benchmark translates.

    pip install av imageio-ffmpeg                    # the candidates, beside face2sketch (only OpenCV is a dependency)
    python docs/compare_video_libraries.py /path/to/cuhk [--seconds 4] [--output runs.json]

For each size (640x480, 1280x720): a "moving" clip of CUHK's first test photo (``face2sketch.perf.clips``, 25 frames a
second) is encoded by every writer a library offers for a file a phone, a browser or predict would use, and decoded
back by every reader, as uint8 RGB arrays (the conversion to and from RGB included, since face2sketch works on RGB).
Milliseconds a frame, the median of ``--repeats`` runs, each library with its default threads except PyAV's decoder,
set to frame and slice threads ("AUTO") as its documentation advises; file sizes in kB a second of video. The
encoders run at their default quality, which differs (file sizes up to five times apart): no quality is measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Frames = list[np.ndarray]


def opencv_writer(fourcc: str) -> Callable[[Path, Frames, float], None]:
    def write(path: Path, frames: Frames, fps: float) -> None:
        import cv2

        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (frames[0].shape[1], frames[0].shape[0]))
        assert writer.isOpened(), f"OpenCV cannot write {fourcc}"
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        writer.release()

    return write


def pyav_writer(codec: str, options: dict[str, str]) -> Callable[[Path, Frames, float], None]:
    def write(path: Path, frames: Frames, fps: float) -> None:
        import av

        with av.open(str(path), "w") as container:
            stream = container.add_stream(codec, rate=round(fps), options=options)
            stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())

    return write


def imageio_writer(codec: str, options: list[str]) -> Callable[[Path, Frames, float], None]:
    def write(path: Path, frames: Frames, fps: float) -> None:
        import imageio_ffmpeg

        size = (frames[0].shape[1], frames[0].shape[0])
        writer = imageio_ffmpeg.write_frames(str(path), size, fps=fps, codec=codec, pix_fmt_out="yuv420p", output_params=options, macro_block_size=1)
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()

    return write


def opencv_read(path: Path) -> int:
    import cv2

    capture, count = cv2.VideoCapture(str(path)), 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        count += 1
    capture.release()
    return count


def pyav_read(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        container.streams.video[0].thread_type = "AUTO"
        return sum(1 for frame in container.decode(video=0) if frame.to_ndarray(format="rgb24") is not None)


def imageio_read(path: Path) -> int:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    next(reader)  # the stream's description
    count = sum(1 for _ in reader)
    reader.close()
    return count


WRITERS: dict[str, tuple[str, Callable[[Path, Frames, float], None]]] = {
    "OpenCV, MPEG-4 part 2 (mp4v)": (".mp4", opencv_writer("mp4v")),
    "OpenCV, VP8 (WebM)": (".webm", opencv_writer("VP80")),
    "PyAV, MPEG-4 part 2": (".mp4", pyav_writer("mpeg4", {})),
    "PyAV, H.264 (libx264 veryfast)": (".mp4", pyav_writer("libx264", {"preset": "veryfast"})),
    "PyAV, H.264 (libx264 ultrafast)": (".mp4", pyav_writer("libx264", {"preset": "ultrafast"})),
    "PyAV, VP8 (libvpx realtime)": (".webm", pyav_writer("libvpx", {"deadline": "realtime", "cpu-used": "8", "b": "2M"})),
    "imageio-ffmpeg, H.264 (libx264 veryfast)": (".mp4", imageio_writer("libx264", ["-preset", "veryfast"])),
}
READERS: dict[str, Callable[[Path], int]] = {"OpenCV": opencv_read, "PyAV": pyav_read, "imageio-ffmpeg": imageio_read}


def timed(action: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def measure(frames: Frames, fps: float, scratch: Path, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for name, (suffix, write) in WRITERS.items():
        path = scratch / f"{len(rows)}{suffix}"
        seconds, _ = timed(lambda write=write, path=path: write(path, frames, fps), repeats)
        reads = {}
        for reader, read in READERS.items():
            try:
                read_seconds, count = timed(lambda read=read, path=path: read(path), repeats)
                reads[reader] = {"ms_per_frame": 1000 * read_seconds / len(frames), "frames": count}
            except Exception as err:  # a reader that cannot read this file says so in the table
                reads[reader] = {"error": f"{type(err).__name__}: {err}"[:120]}
        rows.append(
            {
                "writer": name,
                "size": [frames[0].shape[1], frames[0].shape[0]],
                "encode_ms_per_frame": 1000 * seconds / len(frames),
                "kb_per_second": path.stat().st_size / 1000 / (len(frames) / fps),
                "decode": reads,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| size | written as | encode ms/frame | kB/s | decode ms/frame: " + ", ".join(READERS) + " |", "|---|---|---|---|---|"]
    for row in rows:
        decoded = ", ".join(f"{read['ms_per_frame']:.1f}" if "ms_per_frame" in read else "cannot" for read in row["decode"].values())
        lines.append(f"| {row['size'][0]}x{row['size'][1]} | {row['writer']} | {row['encode_ms_per_frame']:.1f} | {row['kb_per_second']:.0f} | {decoded} |")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    import av
    import cv2
    import imageio_ffmpeg

    ffmpeg = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "opencv": cv2.__version__,
        "av": av.__version__,
        "imageio_ffmpeg": imageio_ffmpeg.__version__,
        "imageio_ffmpeg_binary": ffmpeg,
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cuhk", type=Path)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    from face2sketch.perf.clips import make_clip
    from face2sketch.perf.video import cuhk_test_pairs

    photo = cuhk_test_pairs(args.cuhk, 1)[0][0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="face2sketch-video-libraries-") as scratch:
        for size in ((640, 480), (1280, 720)):
            clip = make_clip(photo, "moving", size, args.seconds)
            rows += measure(clip.frames, clip.fps, Path(scratch), args.repeats)
    if args.output:
        settings = {"seconds": args.seconds, "repeats": args.repeats}
        args.output.write_text(json.dumps({"versions": versions(), "settings": settings, "rows": rows, "table": table(rows)}, indent=1) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
