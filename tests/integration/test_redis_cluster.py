"""SPEC §7 on a real Redis Cluster (3 masters, no replicas): the exactness of shared limits
and of concurrent-session slots across gateway instances, with every instance finding
the slot map by itself. Instance A gets all three nodes as seeds; B and C one node each
(not the same one), so each instance must follow the cluster's slot map to reach keys on
the other masters.

The cluster is shared by the tests of this module; each test uses accounts of its own.
"""

from __future__ import annotations

from helpers import RedisError, redis_store
from test_redis_shared import (assert_changes_reach_the_other_instance,
                               assert_exactly_the_limit_across, assert_session_slots_shared)


def start_on_cluster(gateways, cluster, n: int) -> list:
    seeds = [cluster.urls, [cluster.urls[1]], [cluster.urls[2]]]
    return [gateways.start(redis_store(seeds[i])) for i in range(n)]


def accounts_on_each_master(cluster, prefix: str) -> list[str]:
    """One new account id per master, in node order: ids whose live subject's hash tag
    ({acct:<id>:live}) hashes to a slot that master serves."""
    node = cluster.nodes[0]
    owner = {}
    for start, end, master, *_ in node.command("CLUSTER", "SLOTS"):
        owner[(start, end)] = int(master[1])
    ports = [n.port for n in cluster.nodes]
    chosen: dict[int, str] = {}
    for i in range(1000):
        candidate = f"{prefix}_{i}"
        slot = node.command("CLUSTER", "KEYSLOT", f"kg:{{acct:{candidate}:live}}:counters")
        port = next(p for (start, end), p in owner.items() if start <= slot <= end)
        chosen.setdefault(port, candidate)
        if len(chosen) == len(ports):
            return [chosen[p] for p in ports]
    raise AssertionError(f"no account ids found for every master: {chosen}")


def masters_holding(cluster, keys: list[str]) -> set[int]:
    """Ports of the masters that hold `keys` now (each key on exactly one)."""
    def holds(node, key) -> bool:
        try:
            return node.command("EXISTS", key) == 1
        except RedisError as e:  # MOVED: another master serves the key's slot
            assert str(e).startswith("MOVED"), e
            return False

    ports = set()
    for k in keys:
        holders = [n.port for n in cluster.nodes if holds(n, k)]
        assert len(holders) == 1, (k, holders)
        ports.add(holders[0])
    return ports


def test_cluster_parallel_requests_over_three_instances_admit_exactly_the_limit(
        gateways, mock, redis_cluster):
    instances = start_on_cluster(gateways, redis_cluster, 3)
    # One account per master, each created through another instance: whichever node an
    # instance was given, two of the three accounts live elsewhere.
    ids = accounts_on_each_master(redis_cluster, "acct_exact")
    keys = []
    for i, account in enumerate(ids):
        admin = instances[(i + 1) % 3].admin
        admin.put_account(account, "free", {"api_requests_per_minute": 45})
        keys.append(admin.create_key(account)[1])
    for n, key in enumerate(keys):
        assert_exactly_the_limit_across(instances, mock, key, 45, per_instance=30,
                                        path=f"/v1/cluster/{n}")
    counters = [f"kg:{{acct:{account}:live}}:counters" for account in ids]
    assert masters_holding(redis_cluster, counters) == {n.port for n in redis_cluster.nodes}


def test_cluster_session_slots_count_across_instances(gateways, mock, redis_cluster):
    _, b, c = start_on_cluster(gateways, redis_cluster, 3)
    # B and C: a single seed each (node 1, node 2); the account's slots on node 0.
    account = accounts_on_each_master(redis_cluster, "acct_slots")[0]
    assert_session_slots_shared(b, c, mock, account)
    slots = f"kg:{{acct:{account}:live}}:slots"
    assert masters_holding(redis_cluster, [slots]) == {redis_cluster.nodes[0].port}


def test_cluster_changes_reach_an_instance_seeded_with_another_node(gateways, mock,
                                                                   redis_cluster):
    # A hears pub/sub on node 0, C on node 2: the change published through A's store must
    # reach C (PUBLISH is broadcast to every node of a cluster).
    a, _, c = start_on_cluster(gateways, redis_cluster, 3)
    assert_changes_reach_the_other_instance(a, c)
    assert_changes_reach_the_other_instance(c, a)


def test_cluster_keys_of_one_subject_share_a_slot(gateways, mock, redis_cluster):
    (a,) = start_on_cluster(gateways, redis_cluster, 1)
    account, key = a.new_account("free")
    c = a.client(key)
    assert c.post("/v1/sessions", body=b"{}",
                  headers={"Content-Type": "application/json"}).status == 201
    tagged = [f"kg:{{acct:{account}:live}}:{suffix}"
              for suffix in ("counters", "slots", "sessions")]
    node = redis_cluster.nodes[0]
    slots = {node.command("CLUSTER", "KEYSLOT", k) for k in tagged}
    assert len(slots) == 1, slots
    assert len(masters_holding(redis_cluster, tagged)) == 1
    assert len(masters_holding(redis_cluster, [f"kg:account:{{{account}}}",
                                               f"kg:account:{{{account}}}:keys"])) == 1
