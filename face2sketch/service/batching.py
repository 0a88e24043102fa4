"""The service's one translating thread, which takes requests in turn or, with a batching window, translates the faces
of the requests that arrive within the window as one batch (each request's picture is still read and aligned on its
own: the face detector's OpenCV network and the landmark model are not safe to run from two threads at once)."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from face2sketch.core.errors import DataError
from face2sketch.inference.api import Model, Translation
from face2sketch.pictures.alignment import Alignment, AlignmentFailed


class RequestError(Exception):
    """A request that cannot be answered: its status code and the one line that says why."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def explained(err: DataError) -> RequestError:
    """A picture the model cannot use as the request's answer: 422 without a usable face, 400 otherwise."""
    return RequestError(422 if isinstance(err, AlignmentFailed) else 400, str(err))


@dataclass
class Job:
    model: Model
    body: bytes
    faces: str
    done: Future[list[Translation]] = field(default_factory=Future)


class Translator:
    """One thread that translates submitted pictures: one at a time (``window_seconds`` 0), or the faces of up to
    ``max_batch`` requests arriving within ``window_seconds`` of the first as one batch."""

    def __init__(self, window_seconds: float = 0.0, max_batch: int = 8) -> None:
        self.window_seconds, self.max_batch = window_seconds, max_batch
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="face2sketch-translate", daemon=True)
        self.thread.start()

    def submit(self, model: Model, body: bytes, faces: str) -> Future[list[Translation]]:
        job = Job(model, body, faces)
        self.jobs.put(job)
        return job.done

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=60)

    def _next_batch(self, first: Job) -> tuple[list[Job], bool]:
        """``first`` and the jobs that arrive within the window; whether the queue was closed meanwhile."""
        batch, deadline = [first], time.monotonic() + self.window_seconds
        while self.window_seconds > 0 and len(batch) < self.max_batch:
            try:
                job = self.jobs.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                return batch, True
            batch.append(job)
        return batch, False

    def _run(self) -> None:
        closed = False
        while not closed:
            first = self.jobs.get()
            if first is None:
                return
            batch, closed = self._next_batch(first)
            self._translate(batch)

    def _translate(self, batch: list[Job]) -> None:
        aligned: list[tuple[Job, list[Alignment]]] = []
        for job in batch:
            if not job.done.set_running_or_notify_cancel():  # its request gave up (timed out) while it waited
                continue
            try:
                aligned.append((job, job.model.align_picture(job.body, job.faces)))
            except DataError as err:
                job.done.set_exception(explained(err))
        for translator in {id(job.model.translator): job.model for job, _ in aligned}.values():
            mine = [(job, alignments) for job, alignments in aligned if job.model.translator is translator.translator]
            regions = [alignment for _, alignments in mine for alignment in alignments]
            try:
                translated = iter(translator.with_options(batch_size=max(1, len(regions))).translate_aligned(regions))
            except Exception as err:  # a failure of the model itself: every request of the batch learns of it
                for job, _ in mine:
                    job.done.set_exception(err)
                continue
            for job, alignments in mine:
                job.done.set_result([next(translated) for _ in alignments])
