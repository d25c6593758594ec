"""SPEC §4 'The check is atomic': under many parallel connections exactly the limit is
admitted and exactly that many requests reach the upstream."""

from helpers import ensure_window, parallel_get


def test_parallel_requests_admit_exactly_the_limit(gateway, mock):
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 50})
    ensure_window(15)
    results = parallel_get("127.0.0.1", gateway.port, "/v1/parallel", 250,
                           {"Authorization": f"Bearer {key}"})
    statuses = [s for s, _ in results]
    assert statuses.count(200) == 50, sorted(set(statuses))
    assert statuses.count(429) == 200, sorted(set(statuses))
    assert mock.count("/v1/parallel") == 50
    remaining = sorted(int(h["x-ratelimit-remaining"]) for s, h in results if s == 200)
    assert remaining == list(range(50)), remaining
    for s, h in results:
        if s == 429:
            assert h["x-ratelimit-remaining"] == "0"
            assert int(h["retry-after"]) >= 1


def test_parallel_group_and_plan_limits_stay_consistent(gateway, mock):
    # Plan-wide 40, analysis 25: half the traffic to the group, half elsewhere.
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 40,
                                                    "groups": {"analysis": 25}})
    ensure_window(15)
    import threading

    out = {}

    def run(path):
        out[path] = parallel_get("127.0.0.1", gateway.port, path, 120,
                                 {"Authorization": f"Bearer {key}"})

    threads = [threading.Thread(target=run, args=(p,)) for p in ("/v1/analysis/p", "/v1/other")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ok_group = sum(1 for s, _ in out["/v1/analysis/p"] if s == 200)
    ok_other = sum(1 for s, _ in out["/v1/other"] if s == 200)
    assert ok_group <= 25
    assert ok_group + ok_other == 40, (ok_group, ok_other)
    assert mock.count("/v1/analysis/p") == ok_group
    assert mock.count("/v1/other") == ok_other
