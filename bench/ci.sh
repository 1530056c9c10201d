#!/usr/bin/env bash
# Every benchmark at a small size, so CI prints their figures (never a pass/fail on time).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
$py bench/salesforce_calls.py --records 2000
$py bench/hubspot_calls.py --records 2000
$py bench/sync_throughput.py --records 1000
$py bench/dedup.py --records 5000
$py bench/conflicts.py --registrations 20000 --checks 200
db="partnersync_bench_$$"
psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $db"
trap 'psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
$py bench/conflicts.py --registrations 20000 --checks 200 --database-url "postgresql+psycopg://postgres@127.0.0.1:5432/$db"
$py bench/incentives.py --deals 5000
$py bench/erp.py --records 50
$py bench/health.py --runs 50000 --deals 5000
