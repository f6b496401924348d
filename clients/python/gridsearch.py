"""The job of a gridsearch training program, and its reports (protocol 1).

A gridsearch worker runs your program once per job. This module (standard
library only) reads the job the worker wrote, seeds Python's, NumPy's and
torch's generators with the job's seed, keeps the budget's clock and writes
the events of the protocol to the descriptor the worker reads::

    import gridsearch

    job = gridsearch.job()                 # parameters, seed, budget
    lr = job.params["lr"]
    model = build_model()                  # setup: outside the budget
    for step in job.steps():               # starts the clock; ends at the budget
        loss = train_one_batch(model, lr)
        job.report(step, loss, epoch=step / steps_per_epoch)
    job.result(final_train_loss=evaluate(model))

The worker puts this file on the program's PYTHONPATH; to use it elsewhere,
copy it. Run outside gridsearch (no GRIDSEARCH_JOB in the environment), the
program gets `defaults` as its parameters and the events go to stderr, so it
can be tried by hand.
"""

import json
import math
import os
import random
import sys
import time

PROTOCOL = 1

__all__ = ["Job", "job", "PROTOCOL"]


def _number(value):
    """A float for JSON: non-finite values as the strings the worker reads."""
    if hasattr(value, "item"):  # a one-element tensor or NumPy scalar
        value = value.item()
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _software():
    """"python 3.11.2", with torch's and NumPy's versions where imported."""
    parts = ["python %d.%d.%d" % sys.version_info[:3]]
    for name in ("torch", "numpy"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "__version__"):
            parts.append("%s %s" % (name, module.__version__))
    return ", ".join(parts)


def _finite_or_none(value):
    """A float, or None (sent as null: "not known") when it is not finite."""
    if hasattr(value, "item"):
        value = value.item()
    value = float(value)
    return value if math.isfinite(value) else None


class Job:
    """One job: what to train, and the reports back to the worker."""

    def __init__(self, path=None, defaults=None, report_fd=None):
        path = path or os.environ.get("GRIDSEARCH_JOB")
        if path:
            with open(path, encoding="utf-8") as f:
                spec = json.load(f)
        else:
            spec = {
                "protocol": PROTOCOL,
                "job_id": 0,
                "sweep_id": 0,
                "attempt": 1,
                "optimizer": os.environ.get("GRIDSEARCH_OPTIMIZER", "default"),
                "params": dict(defaults or {}),
                "seed": int(os.environ.get("GRIDSEARCH_SEED", "0")),
                "budget_seconds": float(os.environ.get("GRIDSEARCH_BUDGET", "10")),
                "device": "cpu",
                "threads": 0,
            }
        if spec.get("protocol") != PROTOCOL:
            raise RuntimeError(
                "gridsearch: the job file speaks protocol %r, this helper %d"
                % (spec.get("protocol"), PROTOCOL))
        self.spec = spec
        self.job_id = spec["job_id"]
        self.sweep_id = spec["sweep_id"]
        self.attempt = spec["attempt"]
        self.optimizer = spec["optimizer"]
        self.params = spec["params"]
        self.seed = spec["seed"]
        self.budget_seconds = spec["budget_seconds"]
        self.device = spec["device"]
        self.threads = spec.get("threads", 0)

        if report_fd is None and os.environ.get("GRIDSEARCH_REPORT_FD"):
            report_fd = int(os.environ["GRIDSEARCH_REPORT_FD"])
        if report_fd is not None:
            self._out = os.fdopen(report_fd, "w", buffering=1, encoding="utf-8", closefd=False)
        else:
            self._out = sys.stderr
        self._start = None
        self._finished = False
        self._seeded = set()
        self.seed_generators()

    # --- The job ---

    def seed_generators(self):
        """Seeds Python's generator, and NumPy's and torch's where imported.

        Called when the job is loaded and again at train_start, for the
        modules imported in between (each is seeded once)."""
        if "random" not in self._seeded:
            random.seed(self.seed)
            self._seeded.add("random")
        numpy = sys.modules.get("numpy")
        if numpy is not None and "numpy" not in self._seeded:
            numpy.random.seed(self.seed % (2 ** 32))
            self._seeded.add("numpy")
        torch = sys.modules.get("torch")
        if torch is not None and "torch" not in self._seeded:
            torch.manual_seed(self.seed)  # every device's generator
            self._seeded.add("torch")

    # --- The budget ---

    def train_start(self):
        """Setup is done: the budget's clock starts now."""
        if self._start is not None:
            return
        self.seed_generators()
        self._emit({"event": "train_start", "protocol": PROTOCOL, "software": _software()})
        self._start = time.monotonic()

    def elapsed(self):
        """Seconds of training so far (0 before train_start)."""
        return 0.0 if self._start is None else time.monotonic() - self._start

    def time_left(self):
        """Seconds of the budget left."""
        return self.budget_seconds - self.elapsed()

    def running(self):
        """True while the budget has time left; starts the clock on first call."""
        self.train_start()
        return self.time_left() > 0

    def steps(self, max_steps=None):
        """Step numbers 1, 2, ... while the budget lasts (and up to max_steps).

        A step starts only while time is left, as in gridsearch's own
        trainer: training ends at most one step past the budget."""
        self.train_start()
        step = 0
        while self.time_left() > 0 and (max_steps is None or step < max_steps):
            step += 1
            yield step

    # --- Reports ---

    def report(self, step, loss, epoch=None, learning_rate=None, elapsed_seconds=None):
        """One training step's loss. A non-finite loss ends the job as
        diverged: stop training when it happens."""
        self.train_start()
        event = {"event": "point", "step": int(step), "loss": _number(loss),
                 "elapsed_seconds": self.elapsed() if elapsed_seconds is None
                 else _finite_or_none(elapsed_seconds)}
        if epoch is not None:
            event["epoch"] = _finite_or_none(epoch)
        if learning_rate is not None:
            event["learning_rate"] = _finite_or_none(learning_rate)
        self._emit(event)

    def heartbeat(self):
        """Says the program is alive, for evaluations longer than the lease timeout."""
        self._emit({"event": "heartbeat"})

    def result(self, final_train_loss=None, test_loss=None, test_accuracy=None, diverged=None):
        """The final metrics; call once, at the end. Without final_train_loss,
        the last reported loss is used."""
        self.train_start()
        event = {"event": "result"}
        if final_train_loss is not None:
            event["final_train_loss"] = _number(final_train_loss)
        if test_loss is not None:
            event["test_loss"] = _number(test_loss)
        if test_accuracy is not None:
            event["test_accuracy"] = _finite_or_none(test_accuracy)
        if diverged is not None:
            event["diverged"] = bool(diverged)
        self._emit(event)
        self._finished = True
        self._out.flush()

    def _emit(self, event):
        self._out.write(json.dumps(event, allow_nan=False) + "\n")


_job = None


def job(defaults=None):
    """The job of this process (loaded once)."""
    global _job
    if _job is None:
        _job = Job(defaults=defaults)
    return _job
