"""Reads wrk outputs (with bench/wrk_report.lua) for the benchmark summaries.

One file may hold several wrk outputs run side by side (two gateways, one wrk each):
requests/s and counts are summed, latencies are the worst of them.
"""

import re


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def parse(path: str) -> dict:
    text = open(path).read()
    p999 = [int(x) / 1000 for x in re.findall(r"^p99.9_us (\d+)", text, re.M)]
    return {
        "rps": sum(float(x) for x in re.findall(r"Requests/sec:\s+([\d.]+)", text)),
        "p50": max(_ms(x) for x in re.findall(r"^\s+50%\s+(\S+)", text, re.M)),
        "p99": max(_ms(x) for x in re.findall(r"^\s+99%\s+(\S+)", text, re.M)),
        "p999": max(p999) if p999 else float("nan"),
        "requests": sum(int(x) for x in re.findall(r"(\d+) requests in", text)),
        "non2xx": sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", text)),
    }
