#!/usr/bin/python3
"""Fails on an #include edge between src/ modules that docs/architecture.md does not allow.

The allowed edges are the block between the "module-graph" markers of the architecture
doc: one line per module, `module: dependency dependency ...`, plus `module (tests): ...`
for what only its tests (*_test.cpp, *_test_fixture.h, a testing/ folder) may also include. The script checks that the allowed
graph itself has no cycle, then reads every `#include "module/..."` line under src/.
Usage: scripts/check_module_graph.py [repository root]   (exit 1 on a violation)
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
doc = (root / "docs/architecture.md").read_text()
block = re.search(r"<!-- module-graph: begin -->(.*?)<!-- module-graph: end -->", doc, re.S)
if not block:
    sys.exit("docs/architecture.md: no module-graph block")

allowed, test_allowed = {}, {}
for line in block.group(1).splitlines():
    m = re.match(r"\s*([a-z_]+)( \(tests\))?:\s*(.*?)\s*$", line)
    if not m:
        continue
    deps = set(m.group(3).split())
    (test_allowed if m.group(2) else allowed)[m.group(1)] = deps

# The allowed graph is one-way: a depth-first walk finds no cycle.
state = {}
def visit(module, path):
    if state.get(module) == "done":
        return
    if state.get(module) == "open":
        sys.exit("module graph has a cycle: " + " -> ".join(path + [module]))
    state[module] = "open"
    for dep in sorted(allowed.get(module, ())):
        visit(dep, path + [module])
    state[module] = "done"
for module in sorted(allowed):
    visit(module, [])

errors = []
src = root / "src"
modules = {p.name for p in src.iterdir() if p.is_dir()}
for module in sorted(modules - set(allowed)):
    errors.append(f"src/{module}/: a module docs/architecture.md does not list")
include = re.compile(r'\s*#\s*include\s+"([a-z_]+)/')
for path in sorted(src.rglob("*")):
    if path.suffix not in (".h", ".cpp"):
        continue
    module = path.relative_to(src).parts[0]
    ok = allowed.get(module, set()) | {module}
    test_only = (path.name.endswith("_test.cpp") or path.name.endswith("_test_fixture.h")
                 or "testing" in path.relative_to(src).parts)  # e.g. store/testing/: contract suites
    if test_only:
        ok |= test_allowed.get(module, set()) | {"testing"}  # tests/testing/: shared fixtures
    for number, line in enumerate(path.read_text().splitlines(), 1):
        m = include.match(line)
        if m and m.group(1) in modules | {"testing"} and m.group(1) not in ok:
            errors.append(f"{path.relative_to(root)}:{number}: {module} -> {m.group(1)} "
                          "is not an edge of the module graph (docs/architecture.md)")

for error in errors:
    print(error, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"module graph: {len(allowed)} modules, every include edge allowed")
