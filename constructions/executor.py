"""Where chunks of work run: in this process (the default) or on a Dask cluster (issue 15).

The check loop (``verifiers/checkloop.py``) and the sweeps (``witness table``, ``depth hop``,
``bounds sweep``) cut their work into chunks and hand them to an :class:`Executor`.
``executor.stream(fn, count, item, check=...)`` calls ``item(i)`` here, in order, just before
chunk i starts (so a seeded sample is drawn in the same order whoever runs it), runs
``fn(item(i))`` somewhere, and yields ``(i, result)`` as results come in.  What the results mean
(the first counterexample in enumeration order, a table's cells in order) is the caller's
business: the executor runs, waits and cancels.

* :data:`SERIAL` runs every chunk here, one after another, in order: the single-process loop.
* :class:`DaskExecutor` keeps up to ``window`` tasks submitted to a ``dask.distributed``
  cluster (``--workers N``: a ``LocalCluster(n_workers=N, threads_per_worker=1)`` of worker
  processes; ``--scheduler tcp://HOST:PORT``: a running scheduler and its workers), each task a
  run of consecutive chunks (about :data:`TASKS_PER_WORKER` tasks per worker), yields the chunks'
  results as tasks finish, and cancels what is outstanding when the caller stops early (a
  counterexample) or the budget runs out (``check`` raises
  :class:`~attncheck.constructions.verdict.BudgetExceeded`; the wait for a result never outlasts
  the budget).  The cluster starts, or the connection opens, on first use, so a command that
  never reaches a loop starts none.

``fn`` and the items travel by cloudpickle and ``fn`` is scattered to the workers once per
stream; a chunk's result is all that comes back, so ``fn`` must keep no state across chunks
(a check whose ``compare`` accumulates statistics in a closure runs serially).

The CLI sets the executor of a command (:func:`use`, from ``--workers``/``--scheduler`` by
:func:`from_options`); library functions take ``executor=None``, meaning :func:`current`: serial
unless the command asked otherwise.  ``dask.distributed`` is an optional dependency
(``pip install 'attncheck[dist]'``), imported here only when a Dask executor starts.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import uuid
from typing import Any, Callable, Iterator

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.verdict import BadInput

#: ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (HOST a name, an IPv4 address or ``[IPv6]``).
SCHEDULER = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
#: Seconds to reach a scheduler and to see its first worker.
CONNECT_TIMEOUT = 10.0
INSTALL_HINT = "pip install 'attncheck[dist]'"


def parse_scheduler(text: str) -> str:
    """The address of ``--scheduler``, checked for form (``tcp://HOST:PORT``, port 1..65535)."""
    m = SCHEDULER.match(str(text).strip())
    if m is None or not 1 <= int(m.group(3)) <= 65535:
        raise BadInput(f"--scheduler must be tcp://HOST:PORT (PORT 1..65535), got {text!r}")
    return m.group(0)


def _nothing() -> None:
    return None


class Stream:
    """The results of one :meth:`Executor.stream`: iterate for ``(i, result)``; ``close()``
    cancels what is outstanding.  A task runs ``size`` consecutive chunks; ``completed`` and
    ``cancelled`` count tasks."""

    def __init__(self, executor: "Executor"):
        self.executor = executor
        self._gen: Iterator[tuple[int, Any]] = iter(())
        self.size = 1
        self.completed = 0
        self.cancelled = 0

    def __iter__(self):
        return self

    def __next__(self) -> tuple[int, Any]:
        return next(self._gen)

    def tasks_for(self, chunks: int) -> int:
        """The tasks that chunks 0..chunks-1 took."""
        return -(-chunks // self.size)

    def _count(self, completed: int = 0, cancelled: int = 0) -> None:
        self.completed += completed
        self.cancelled += cancelled
        self.executor.completed += completed
        self.executor.cancelled += cancelled

    def close(self) -> None:
        self._gen.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Executor:
    """Runs chunks: in order here (:data:`SERIAL`) or on a cluster (:class:`DaskExecutor`).
    ``completed`` and ``cancelled`` count the tasks of every stream it ran."""

    scheduler = "serial"
    workers = 1
    distributed = False

    def __init__(self):
        self.completed = 0
        self.cancelled = 0

    def describe(self) -> dict:
        return {"scheduler": self.scheduler, "workers": self.workers}

    def summary(self) -> dict:
        """``{"scheduler", "workers", "tasks"}`` over every stream so far, and ``"cancelled"``
        when a stream was cut short (the budget, a counterexample): a report's JSON."""
        return {**self.describe(), "tasks": self.completed,
                **({"cancelled": self.cancelled} if self.cancelled else {})}

    def stream(self, fn: Callable[[Any], Any], count: int, item: Callable[[int], Any], *,
               check: Callable[[], None] = _nothing, budget: Budget = UNLIMITED,
               stop: Callable[[Any], bool] | None = None, group: bool = True) -> Stream:
        """Chunks 0..count-1: ``check()`` then ``item(i)`` here before chunk i starts, ``fn``
        on the item wherever chunks run; yields ``(i, fn(item(i)))`` as they finish.

        A Dask task may run several consecutive chunks (``group``; leave it off when items are
        large, e.g. sampled batches drawn here); it skips the rest of its chunks once ``stop``
        holds for a result (a counterexample: the caller reads nothing after it)."""
        s = Stream(self)
        s._gen = self._run(fn, count, item, check, budget, s, stop, group)
        return s

    def _run(self, fn, count, item, check, budget, s: Stream, stop, group):
        for i in range(count):
            check()
            result = fn(item(i))
            s._count(completed=1)
            yield i, result

    def close(self) -> None:
        pass


SERIAL = Executor()


#: Tasks per worker a stream of many chunks is cut into (consecutive chunks share a task: less
#: scheduling, and a worker's caches, such as the shared-prefix levels, serve the next chunk).
TASKS_PER_WORKER = 4


def _apply_all(fn, items: list, stop) -> list:
    """One task: ``fn`` on each item in order, until ``stop`` holds for a result."""
    out = []
    for item in items:
        out.append(fn(item))
        if stop is not None and stop(out[-1]):
            break
    return out


class DaskExecutor(Executor):
    """Chunks on ``dask.distributed``: a local cluster of ``workers`` processes, or the
    scheduler at ``address``.  Started on first use; :meth:`close` stops what it started."""

    distributed = True

    def __init__(self, workers: int | None = None, address: str | None = None, window: int | None = None,
                 per_worker: int | None = TASKS_PER_WORKER):
        super().__init__()
        self.per_worker = per_worker            # None: one chunk per task
        if (workers is None) == (address is None):
            raise ValueError("give exactly one of workers and address")
        self.scheduler = "local" if address is None else address
        self.workers = workers or 0
        self._address, self._window = address, window
        self._client = self._cluster = None

    def _start(self):
        if self._client is not None:
            return self._client
        try:
            import distributed
        except ImportError:
            raise BadInput(f"--workers and --scheduler need dask.distributed: {INSTALL_HINT}") from None
        if self._address is None:
            import dask
            # dask's nannies export MALLOC_TRIM_THRESHOLD_=65536 to the workers (and, for a local
            # cluster, to this process): glibc then returns freed memory at once, and the many
            # short-lived arrays of a chunk run about 2x slower.  None leaves it unset.
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self._cluster = distributed.LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                                         processes=True, dashboard_address=None,
                                                         silence_logs=logging.CRITICAL)
            self._client = distributed.Client(self._cluster)
            return self._client
        try:
            self._client = distributed.Client(self._address, timeout=f"{CONNECT_TIMEOUT:g}s")
            self._client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            self.close()
            raise BadInput(f"--scheduler {self._address}: no scheduler with a worker answered within"
                           f" {CONNECT_TIMEOUT:g} s ({type(e).__name__})") from None
        self.workers = len(self._client.scheduler_info().get("workers", {}))
        return self._client

    def _run(self, fn, count, item, check, budget, s: Stream, stop, group):
        if count == 0:
            return
        check()                                                     # no cluster for a spent budget
        client = self._start()
        import distributed
        window = self._window or 2 * max(1, self.workers)
        if group and self.per_worker:
            s.size = max(1, -(-count // (self.per_worker * max(1, self.workers))))
        tag = uuid.uuid4().hex[:12]
        fn_f = client.scatter(fn, broadcast=True, hash=False)
        running: dict = {}                                          # future -> its first chunk
        nxt = 0
        try:
            while nxt < count or running:
                while nxt < count and len(running) < window:
                    check()
                    last = min(count, nxt + s.size)
                    fut = client.submit(_apply_all, fn_f, [item(i) for i in range(nxt, last)], stop,
                                        pure=False, key=f"attncheck-{tag}-{nxt}")
                    running[fut] = nxt
                    nxt = last
                left = budget.remaining
                try:
                    done, _ = distributed.wait(list(running), return_when="FIRST_COMPLETED",
                                               timeout=None if left is None else max(left, 0.0) + 0.01)
                except TimeoutError:
                    check()
                    continue
                for fut in sorted(done, key=running.get):
                    first = running.pop(fut)
                    results = fut.result()                          # a chunk's error is raised here
                    s._count(completed=1)
                    for j, result in enumerate(results):
                        yield first + j, result
        finally:
            if running:
                s._count(cancelled=len(running))
                client.cancel(list(running))
            client.cancel([fn_f])

    def close(self) -> None:
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        with contextlib.suppress(Exception):
            if client is not None:
                client.close()
        with contextlib.suppress(Exception):
            if cluster is not None:
                cluster.close()


_CURRENT: contextvars.ContextVar[Executor] = contextvars.ContextVar("attncheck_executor", default=SERIAL)


def current() -> Executor:
    """The executor of the running command (:data:`SERIAL` unless one was set by :func:`use`)."""
    return _CURRENT.get()


@contextlib.contextmanager
def use(executor: Executor):
    """Make ``executor`` the ambient one inside the block."""
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def from_options(workers: int | None, scheduler: str | None):
    """The executor of ``--workers N`` / ``--scheduler ADDRESS`` (serial when neither), made
    ambient for the block and closed after it."""
    if workers is not None and scheduler is not None:
        raise BadInput("--workers and --scheduler are exclusive; pick one")
    if workers is not None and not (isinstance(workers, int) and workers >= 1):
        raise BadInput(f"--workers must be an integer >= 1, got {workers!r}")
    if workers is None and scheduler is None:
        ex = SERIAL
    else:
        ex = DaskExecutor(workers, None if scheduler is None else parse_scheduler(scheduler))
    try:
        with use(ex):
            yield ex
    finally:
        ex.close()
