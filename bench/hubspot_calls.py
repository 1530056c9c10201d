"""API calls, throughput and memory of the HubSpot connector against the sandbox.

    python bench/hubspot_calls.py --records 20000     # the target run
    python bench/hubspot_calls.py --records 1000      # quick CI-sized check

Seeds N companies in a sandbox portal running in a child process (its memory is not measured), pulls
them all through the connector (CRM search, 200 a page, crossing the 10,000-result cap once at 20k)
and upserts each page, as it streams in, by `partnersync_id` (batch/upsert, 100 a call) into a second
portal: upserting into the portal being searched would add records behind the search as it pages,
and a live search never ends while that goes on. Prints the calls made, the minimum (ceil(N/200)
search pages + ceil(N/100) upserts), records/s, this process's peak RSS, and as its last line
`api_calls_ratio=<calls/minimum>` (target <= 1.02). The connector also lists archived companies once
per pull (one call): that call is counted.
"""

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config.systems import HubSpotSettings
from connectors.base import Cursor
from connectors.hubspot import HubSpotConnector


@contextmanager
def portal(companies: int) -> Iterator[HubSpotConnector]:
    """A connector to a sandbox portal seeded with `companies`, served by a child process."""
    child = subprocess.Popen([sys.executable, "-m", "sandbox.hubspot", "--companies", str(companies)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[1])
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        yield HubSpotConnector(HubSpotSettings(base_url=info["url"], access_token=info["access_token"]))
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000, help="companies to pull and upsert (default 20,000)")
    n = parser.parse_args().records
    with portal(n) as source, portal(0) as target:
        run(source, target, n)


def run(source: HubSpotConnector, target: HubSpotConnector, n: int) -> None:
    pulled = pushed = failed = 0
    started = time.perf_counter()
    for page in source.pull("partner", Cursor()):
        pulled += len(page.records)
        batch = [{"partnersync_id": f"bench-{r['id']}", "name": r.get("name")} for r in page.records]
        results = target.push("partner", batch)
        pushed += sum(1 for r in results if r.success)
        failed += sum(1 for r in results if not r.success)
    total = time.perf_counter() - started
    calls = source.usage.calls + target.usage.calls
    minimum = math.ceil(n / 200) + math.ceil(n / 100)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"records={n} pulled={pulled} pushed={pushed} failed={failed}")
    print(f"api_calls={calls} (pull {source.usage.calls}, upsert {target.usage.calls}) minimum={minimum} "
          f"(search pages {math.ceil(n / 200)} + upserts {math.ceil(n / 100)})")
    print(f"records_per_s={(pulled + pushed) / total:.0f} seconds={total:.1f}")
    print(f"peak_rss_mb={peak_mb:.1f}")
    print(f"api_calls_ratio={calls / minimum:.3f}")


if __name__ == "__main__":
    main()
