"""Validating procedure YAML: linear in its size, and an alias bomb refused at once.

- A 20,000-step procedure (about 1.8 MB, the API's upload limit; each step waits for the
  one before) against a 200-step one of the same shape: linear validation takes about
  100× as long, a quadratic one 10,000×.
- A nine-level "billion laughs" document (387 million leaves from 500 bytes) refused by
  ``load_yaml``, against what the loader did before it refused aliases: walking every path
  of the composed document to note its line, here for a five-level bomb (59,049 leaves).
"""

from __future__ import annotations

import time

import yaml

from process_models.errors import ProcedureSyntaxError
from process_models.loading import parse_procedure
from process_models.yaml_loader import load_yaml
from tests.strategies import alias_bomb


def chain(n_steps: int) -> str:
    """A procedure of ``n_steps`` steps, each depending on the one before."""
    lines = ["id: chain", "name: 链", "departments: [{id: d, name: 部门}]", "steps:"]
    for i in range(n_steps):
        lines.append(f"- id: s{i}\n  name: 第{i}步\n  department: d\n  committed: {{days: 1}}"
                     + (f"\n  depends_on: [s{i - 1}]" if i else ""))
    return "\n".join(lines) + "\n"


def best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def walk_every_path(text: str) -> int:
    """The former line-noting walk: one entry per path, so aliases are walked again."""
    lines: dict[tuple, int] = {}

    def walk(n: yaml.Node, loc: tuple) -> None:
        lines.setdefault(loc, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                walk(v, (*loc, k.value))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*loc, i))

    walk(yaml.compose(text, Loader=yaml.CSafeLoader), ())
    return len(lines)


def refuse(text: str) -> None:
    try:
        load_yaml(text, file="bomb.yaml")
    except ProcedureSyntaxError:
        return
    raise AssertionError("the bomb was not refused")


def main() -> None:
    small, large = chain(200), chain(20_000)
    parse_procedure(small)  # imports and caches, outside the timing
    t_small = best_of(5, lambda: parse_procedure(small))
    t_large = best_of(3, lambda: parse_procedure(large))
    t_libyaml = best_of(2, lambda: yaml.load(large, Loader=yaml.CSafeLoader))
    print(f"validate   200 steps ({len(small.encode()) / 1e3:5.0f} kB): {t_small * 1e3:8.1f} ms")
    print(f"validate 20000 steps ({len(large.encode()) / 1e6:5.2f} MB): {t_large * 1e3:8.1f} ms; "
          f"{t_large / t_small:5.0f}× the 200-step time (linear: ~100×, quadratic: ~10,000×); "
          f"libyaml safe_load alone {t_libyaml * 1e3:.1f} ms")
    ours = best_of(20, lambda: refuse(alias_bomb(9)))
    before = best_of(3, lambda: walk_every_path(alias_bomb(5)))
    print(f"alias bomb, 9 levels ({len(alias_bomb(9))} bytes): refused in {ours * 1e3:.2f} ms; "
          f"the former walk over a 5-level one: {before * 1e3:.1f} ms ({before / ours:.0f}× "
          "longer, ×9 per level)")


if __name__ == "__main__":
    main()
