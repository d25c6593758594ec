"""SPEC §2 command line."""

import re
import subprocess


def run(binary, *args, timeout=20):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)


def test_version(binary):
    r = run(binary, "--version")
    assert r.returncode == 0, r
    assert re.search(r"\d+\.\d+\.\d+", r.stdout + r.stderr), r


def test_help(binary):
    r = run(binary, "--help")
    assert r.returncode == 0, r
    for word in ("serve", "demo", "check-config", "mock-upstream"):
        assert word in r.stdout + r.stderr, word


def test_unknown_subcommand_fails(binary):
    r = run(binary, "frobnicate")
    assert r.returncode != 0


def test_serve_without_config_fails(binary):
    assert run(binary, "serve").returncode != 0


def test_serve_with_missing_file_fails(binary, tmp_path):
    r = run(binary, "serve", "--config", str(tmp_path / "nope.yaml"))
    assert r.returncode != 0
    assert "nope.yaml" in r.stderr + r.stdout
