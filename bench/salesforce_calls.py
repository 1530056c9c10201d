"""API calls, throughput and memory of the Salesforce connector against the sandbox.

    python bench/salesforce_calls.py --records 10000     # the target run
    python bench/salesforce_calls.py --records 1000      # quick CI-sized check

Seeds N partner Accounts in a sandbox running in a child process (so its memory is not measured),
pulls them all through the connector (queryAll, 2,000-row batches) and upserts N records back by
external id (200 a call), page by page as they stream in. Prints the calls made, the theoretical
minimum (ceil(N/2000) query batches + ceil(N/200) upserts), records/s and this process's peak RSS,
and as its last line `api_calls_ratio=<calls/minimum>` (target <= 1.02). Run it at two sizes
(10k and 40k) to see that peak RSS does not grow with N.
"""

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

from config.systems import SalesforceSettings
from connectors.base import Cursor
from connectors.salesforce import SalesforceConnector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000, help="accounts to pull and upsert (default 10,000)")
    args = parser.parse_args()
    n = args.records

    child = subprocess.Popen([sys.executable, "-m", "sandbox.salesforce", "--accounts", str(n)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[1])
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        settings = SalesforceSettings(instance_url=info["url"], access_token=info["access_token"],
                                      verify_tls=info["ca_file"])
        run(SalesforceConnector(settings), n)
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=30)


def run(conn: SalesforceConnector, n: int) -> None:
    ext = conn.settings.external_id_field
    pulled = pushed = failed = 0
    pull_seconds = push_seconds = 0.0
    started = time.perf_counter()
    pages = conn.pull("partner", Cursor())
    while True:
        tick = time.perf_counter()
        page = next(pages, None)
        pull_seconds += time.perf_counter() - tick
        if page is None:
            break
        pulled += len(page.records)
        batch = [{ext: f"bench-{r['Id']}", "Name": r["Name"], "Website": r.get("Website")} for r in page.records]
        tick = time.perf_counter()
        results = conn.push("partner", batch)
        push_seconds += time.perf_counter() - tick
        pushed += sum(1 for r in results if r.success)
        failed += sum(1 for r in results if not r.success)
    total = time.perf_counter() - started
    minimum = math.ceil(n / 2000) + math.ceil(n / 200)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"records={n} pulled={pulled} pushed={pushed} failed={failed}")
    print(f"api_calls={conn.usage.calls} minimum={minimum} (query batches {math.ceil(n / 2000)} + "
          f"upserts {math.ceil(n / 200)}); platform usage {conn.usage.used}/{conn.usage.limit}")
    print(f"pull_records_per_s={pulled / pull_seconds:.0f} push_records_per_s={pushed / push_seconds:.0f} "
          f"overall_records_per_s={(pulled + pushed) / total:.0f} seconds={total:.1f}")
    print(f"peak_rss_mb={peak_mb:.1f}")
    print(f"api_calls_ratio={conn.usage.calls / minimum:.3f}")


if __name__ == "__main__":
    main()
