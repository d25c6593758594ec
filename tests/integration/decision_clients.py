"""Independent clients of the decision service (SPEC §8), for its integration tests.

- Python: grpcio (Debian) with stubs that Debian's protoc and grpc_python_plugin compile
  from the project's proto/ files at the start of the session.
- Node: @grpc/grpc-js with @grpc/proto-loader reading the same .proto files at run time
  (tests/node/rls_client.js; `make node-deps` installs the packages from the lock file).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from helpers import REPO_ROOT

PROTO_DIR = REPO_ROOT / "proto"
PROTOS = [
    "envoy/config/core/v3/base.proto",
    "envoy/type/v3/ratelimit_unit.proto",
    "envoy/extensions/common/ratelimit/v3/ratelimit.proto",
    "envoy/service/ratelimit/v3/rls.proto",
]
NODE_CLIENT = REPO_ROOT / "tests" / "node" / "rls_client.js"


def compile_python_stubs(out_dir: Path):
    """Compiles the protos into `out_dir`; returns (rls_pb2, rls_pb2_grpc)."""
    subprocess.run(["protoc", f"-I{PROTO_DIR}", f"--python_out={out_dir}",
                    f"--grpc_python_out={out_dir}",
                    "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", *PROTOS],
                   check=True, cwd=PROTO_DIR)
    sys.path.insert(0, str(out_dir))
    pb2 = importlib.import_module("envoy.service.ratelimit.v3.rls_pb2")
    pb2_grpc = importlib.import_module("envoy.service.ratelimit.v3.rls_pb2_grpc")
    return pb2, pb2_grpc


class PythonRls:
    """A grpcio client of ShouldRateLimit on 127.0.0.1:`port`."""

    def __init__(self, stubs, port: int):
        import grpc
        self.grpc = grpc
        self.pb2, pb2_grpc = stubs
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        # Bounded: the listener opens just after the public one.
        grpc.channel_ready_future(self.channel).result(timeout=10)
        self.stub = pb2_grpc.RateLimitServiceStub(self.channel)

    def request(self, descriptors: list, domain: str = "kallglot", hits_addend: int = 0):
        """`descriptors`: a list of [(key, value), ...], or of dicts with "entries" and
        "hits_addend"."""
        req = self.pb2.RateLimitRequest(domain=domain, hits_addend=hits_addend)
        for d in descriptors:
            entries, hits = (d["entries"], d.get("hits_addend")) if isinstance(d, dict) else (d, None)
            desc = req.descriptors.add()
            for key, value in entries:
                e = desc.entries.add()
                e.key, e.value = key, value
            if hits is not None:
                desc.hits_addend.value = hits
        return req

    def check(self, descriptors: list, **kw):
        return self.stub.ShouldRateLimit(self.request(descriptors, **kw), timeout=10)

    def check_async(self, descriptors: list, **kw):
        return self.stub.ShouldRateLimit.future(self.request(descriptors, **kw), timeout=30)

    def close(self) -> None:
        self.channel.close()


def headers_of(response) -> dict[str, str]:
    return {h.key: h.value for h in response.response_headers_to_add}


def body_of(response) -> dict:
    return json.loads(response.raw_body.decode())


def node_checks(port: int, requests: list[dict], concurrency: int = 1) -> list[dict]:
    """Runs `requests` (RateLimitRequest as JSON: domain, descriptors, hits_addend) through
    the Node client, `concurrency` at a time; returns the responses as JSON."""
    out = subprocess.run(
        ["node", str(NODE_CLIENT)],
        input=json.dumps({"address": f"127.0.0.1:{port}", "proto_dir": str(PROTO_DIR),
                          "requests": requests, "concurrency": concurrency}),
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
