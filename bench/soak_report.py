#!/usr/bin/python3
"""Summary of a bench/soak.sh run: samples.csv and a Markdown report on stdout.

  soak_report.py bench/results/soak-<stamp>

Reads, per sample N (0 = before any traffic, 1.. = after each SAMPLE_SECONDS, "final" =
after the clients stopped): samples/proc-N.txt (RSS, descriptors, CPU, Redis), metrics-N.txt
(the gateway's /metrics), http-N.txt (that interval's wrk), streams-N.json and abuse-N.json
(the clients' cumulative counts).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wrk_results  # noqa: E402

REFUSAL_REASONS = ("max_connections", "max_connections_per_ip", "upgrades_per_minute_per_ip",
                   "max_streams", "max_streams_per_session", "max_buffered_bytes")
STREAM_FAILURES = ("create_failed", "open_failed", "echo_wrong", "echo_timeouts",
                   "closed_unexpectedly", "end_failed")


def metric(text: str, name: str, **labels) -> float:
    """Sum of the series of `name` whose labels include `labels`."""
    total = 0.0
    for m in re.finditer(rf"^{name}(?:\{{([^}}]*)\}})? (\S+)$", text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def read_kv(path: Path) -> dict[str, float]:
    out = {}
    for line in path.read_text().splitlines():
        k, _, v = line.partition(" ")
        try:
            out[k] = float(v)
        except ValueError:
            pass
    return out


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def socket_errors(path: Path) -> int:
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                  path.read_text())
    return sum(int(x) for x in m.groups()) if m else 0


def load(out: Path) -> list[dict]:
    s = out / "samples"
    names = sorted((int(p.stem.split("-")[1]) for p in s.glob("proc-*.txt")
                    if p.stem.split("-")[1].isdigit()))
    names = [str(n) for n in names] + (["final"] if (s / "proc-final.txt").exists() else [])
    rows = []
    for n in names:
        proc = read_kv(s / f"proc-{n}.txt")
        text = (s / f"metrics-{n}.txt").read_text()
        row = {
            "sample": n, "t_s": proc["t"], "rss_kib": int(proc["rss_kib"]), "fds": int(proc["fds"]),
            "cpu_ticks": int(proc["cpu_ticks"]),
            "open_connections": int(metric(text, "kallglot_gateway_open_connections")),
            "open_streams": int(metric(text, "kallglot_gateway_open_streams")),
            "active_sessions": int(metric(text, "kallglot_gateway_active_sessions")),
            "redis_used_kib": int(proc.get("redis_used_memory", 0) // 1024),
            "redis_keys": int(proc.get("redis_keys", 0)),
            "log_kib": int(proc.get("log_bytes", 0) // 1024),
            "store_errors": int(metric(text, "kallglot_gateway_store_errors_total")),
            "key_lookup_errors": int(metric(text, "kallglot_gateway_key_lookups_total",
                                            result="error")),
            "upstream_5xx": int(metric(text, "kallglot_gateway_upstream_responses_total",
                                       **{"class": "5xx"})),
            "upstream_failed": int(metric(text, "kallglot_gateway_upstream_responses_total",
                                          **{"class": "error"})),
            "load1": proc.get("load1", 0.0),
        }
        for r in REFUSAL_REASONS:
            row[f"refused_{r}"] = int(metric(text, "kallglot_gateway_refused_total", reason=r))
        http = s / f"http-{n}.txt"
        if http.exists() and "Requests/sec" in http.read_text():
            w = wrk_results.parse(str(http))
            row.update(http_requests=w["requests"], http_non2xx=w["non2xx"],
                       http_socket_errors=socket_errors(http), http_p99_ms=w["p99"])
        else:
            row.update(http_requests=0, http_non2xx=0,
                       http_socket_errors=0 if n in ("0", "final") else 1, http_p99_ms=0.0)
        st = read_json(s / f"streams-{n}.json")
        row["streams_opened"] = st.get("streams_opened", 0)
        row["stream_echoes"] = st.get("echoes", 0)
        row["stream_failures"] = sum(st.get(k, 0) for k in STREAM_FAILURES)
        rows.append(row)
    return rows


def quarter_means(values: list[float]) -> tuple[float, float]:
    q = max(1, len(values) // 4)
    return statistics.mean(values[:q]), statistics.mean(values[-q:])


def main() -> int:
    out = Path(sys.argv[1])
    rows = load(out)
    cols = list(rows[0].keys())
    with open(out / "samples.csv", "w") as f:
        f.write(",".join(cols) + "\n")
        for r in rows:
            f.write(",".join(str(r[c]) for c in cols) + "\n")

    traffic = [r for r in rows if r["sample"] not in ("0", "final")]
    if not traffic:
        print("No sample under traffic.")
        return 1
    base, last = rows[0], rows[-1]

    # Interval table: what each sample saw since the previous one.
    print("| t s | RSS MiB | fds | conns | streams | Redis KiB | Redis keys | HTTP req "
          "| HTTP bad | streams opened | stream failures | store errors | upstream 5xx / failed "
          "| refused (per-IP conns, upgrades/min, per-session, buffer) | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
    prev = base
    for r in rows[1:]:
        d = lambda k: r[k] - prev[k]
        print(f"| {r['t_s']:.0f} | {r['rss_kib'] / 1024:.1f} | {r['fds']} | {r['open_connections']} "
              f"| {r['open_streams']} | {r['redis_used_kib']:,} | {r['redis_keys']:,} "
              f"| {r['http_requests']:,} | {r['http_non2xx'] + r['http_socket_errors']} "
              f"| {d('streams_opened')} | {d('stream_failures')} | {d('store_errors')} "
              f"| {d('upstream_5xx')} / {d('upstream_failed')} "
              f"| {d('refused_max_connections_per_ip')}, {d('refused_upgrades_per_minute_per_ip')}, "
              f"{d('refused_max_streams_per_session')}, {d('refused_max_buffered_bytes')} "
              f"| {r['load1']:.1f} |")
        prev = r
    print()

    rss = [r["rss_kib"] / 1024 for r in traffic]
    fds = [r["fds"] for r in traffic]
    rss_q1, rss_q4 = quarter_means(rss)
    fds_q1, fds_q4 = quarter_means(fds)
    http_req = sum(r["http_requests"] for r in traffic)
    http_bad = sum(r["http_non2xx"] + r["http_socket_errors"] for r in traffic)
    st = read_json(out / "samples" / "streams-final.json")
    stream_ops = st.get("streams_opened", 0) + st.get("create_failed", 0) + st.get("open_failed", 0)
    stream_bad = sum(st.get(k, 0) for k in STREAM_FAILURES)
    # Steady growth: the last quarter's mean above the first's by more than noise (5% and
    # 1 MiB of RSS; 10% and 16 descriptors, as open connections come and go).
    rss_grew = rss_q4 > rss_q1 * 1.05 and rss_q4 - rss_q1 > 1
    fds_grew = fds_q4 > fds_q1 * 1.10 and fds_q4 - fds_q1 > 16
    cpu = (last["cpu_ticks"] - base["cpu_ticks"]) / 100 / max(last["t_s"], 1)
    print(f"**Summary**: RSS first/last/max {rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f} MiB "
          f"(before traffic {base['rss_kib'] / 1024:.1f}; mean of first quarter {rss_q1:.1f}, "
          f"last quarter {rss_q4:.1f}: {'**GREW**' if rss_grew else 'flat'}); descriptors "
          f"first/last/max {fds[0]} / {fds[-1]} / {max(fds)} (before {base['fds']}, after the "
          f"clients stopped {last['fds']}; quarters {fds_q1:.0f} → {fds_q4:.0f}: "
          f"{'**GREW**' if fds_grew else 'flat'}); legitimate HTTP {http_bad} bad of "
          f"{http_req:,} ({http_bad / max(http_req, 1):.4%}); streams {stream_bad} failures "
          f"in {stream_ops:,} sessions ({st.get('echoes', 0):,} echoes of "
          f"{st.get('messages_sent', 0):,} messages); store errors {last['store_errors']}, "
          f"key-lookup errors {last['key_lookup_errors']}, upstream 5xx "
          f"{last['upstream_5xx']}, upstream failures {last['upstream_failed']}; gateway CPU "
          f"{cpu:.0%} of a core on average; log {last['log_kib']:,} KiB.")
    print()
    refused = {r: last[f"refused_{r}"] for r in REFUSAL_REASONS}
    print("Refusals by cap (kallglot_gateway_refused_total): " +
          ", ".join(f"{k} {v:,}" for k, v in refused.items()) + ".")
    if st.get("errors"):
        print()
        print("Legitimate stream failures (examples):")
        for kind, examples in st["errors"].items():
            for e in examples:
                print(f"- {kind}: {e}")
    ab = read_json(out / "samples" / "abuse-final.json").get("outcomes", {})
    if ab:
        print()
        print("| abuser's action | outcomes (count) |")
        print("|---|---|")
        for action, outcomes in ab.items():
            items = sorted(outcomes.items(), key=lambda kv: -kv[1])
            print(f"| {action} | " + ", ".join(f"{k}: {v:,}" for k, v in items) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
