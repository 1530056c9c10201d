"""A sync process over two file-backed systems, for crash and concurrency tests (run as a module).

`python -m tests.integration.engine_proc cycle DB DIR` runs one cycle; `worker DB DIR N` runs every
stream N times through `worker.guarded_run` (Redis mutex and a shared window limiter), logging the
cursor it saw after each run to DIR/cursors-<pid>.log.
"""

import os
import sys
from pathlib import Path

from config import Settings
from sync.engine import Engine
from sync.store import Store
from sync.systems import System
from tests.filesystem import FileSystem
from tests.memsystem import maps

WINDOW_LIMIT = 8


def engine(url: str, folder: Path, delay: float) -> Engine:
    systems = {name: System(name, FileSystem(name, folder / f"{name}.json", delay=delay),
                            {"partner": maps(name)["partner"]}) for name in ("hubspot", "salesforce")}
    return Engine(Store(url), Settings(), systems)


def main(mode: str, url: str, folder: Path, runs: int = 1) -> None:
    delay = float(os.environ.get("ENGINE_PROC_DELAY", "0"))
    eng = engine(url, folder, delay)
    if mode == "cycle":
        eng.cycle()
        return
    from dramatiq.rate_limits import WindowRateLimiter

    import worker
    from sync import cursors

    limiter = WindowRateLimiter(worker.backend, "test:window", limit=WINDOW_LIMIT, window=1)
    eng.systems = {name: System(name, worker.Throttled(s.connector, [limiter], []), s.maps)
                   for name, s in eng.systems.items()}
    log = folder / f"cursors-{os.getpid()}.log"
    for _ in range(runs):
        for system, entity in eng.streams():
            try:
                worker.guarded_run(eng, system, entity)
            except Exception as exc:  # a dramatiq.Retry on the shared limit: the worker would retry
                print(f"retry: {exc}", file=sys.stderr)
            with eng.store.session() as session:
                cur = cursors.load(session, system, entity)
            with log.open("a") as out:
                out.write(f"{system} {cur.modified_at.isoformat() if cur.modified_at else '-'} "
                          f"{cur.last_id or '-'}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
