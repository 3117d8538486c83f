#!/usr/bin/env python3
"""One side of a bench measurement, run in its own process by bench/run.py.

The same script drives pyvirt (``--api pyvirt.libvirt`` with the venv's python) and the real
libvirt (``--api libvirt`` with /usr/bin/python3 + python3-libvirt), so both sides execute
identical client code. Standard library only. Prints one JSON object on stdout.

  worker.py start   --api M --uri U --xml FILE --runs N   create() latency, destroy between
  worker.py define  --api M --uri U --xml FILE --prefix P --count N
  worker.py cleanup --api M --uri U --prefix P            destroy + undefine every P* domain

Every domain it makes is named with the prefix, which must start with "bench-".
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from string import Template
from types import ModuleType
from typing import Any


def cleanup(lv: ModuleType, conn: Any, prefix: str) -> int:
    removed = 0
    for dom in conn.listAllDomains(0):
        if not dom.name().startswith(prefix):
            continue
        try:
            if dom.isActive():
                dom.destroy()
            if dom.isPersistent():
                dom.undefine()
            removed += 1
        except lv.libvirtError as e:  # a domain that vanished meanwhile is fine
            print(f"cleanup {dom.name()}: {e}", file=sys.stderr)
    return removed


def start(lv: ModuleType, conn: Any, xml: str, runs: int) -> dict[str, Any]:
    dom = conn.defineXML(xml)
    samples: list[float] = []
    try:
        for _ in range(runs + 1):  # the first round warms caches (caps probe etc.) and is dropped
            t0 = time.perf_counter()
            dom.create()
            samples.append((time.perf_counter() - t0) * 1000)
            dom.destroy()
    finally:
        if dom.isActive():
            dom.destroy()
        dom.undefine()
    return {"create_ms": samples[1:], "warmup_ms": samples[0]}


def define(conn: Any, template: str, prefix: str, count: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    for i in range(count):
        conn.defineXML(Template(template).substitute(name=f"{prefix}{i:04d}"))
    return {"defined": count, "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=("start", "define", "cleanup"))
    ap.add_argument("--api", default="libvirt")
    ap.add_argument("--uri", required=True)
    ap.add_argument("--xml", help="domain XML template file (string.Template, ${name})")
    ap.add_argument("--name", default="bench-start")
    ap.add_argument("--prefix", default="bench-")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--count", type=int, default=1000)
    args = ap.parse_args()
    if not args.prefix.startswith("bench-") or not args.name.startswith("bench-"):
        sys.exit("worker: names must start with 'bench-'")
    lv = importlib.import_module(args.api)
    conn = lv.open(args.uri)
    template = Path(args.xml).read_text() if args.xml else ""
    try:
        if args.action == "start":
            out = start(lv, conn, Template(template).substitute(name=args.name), args.runs)
        elif args.action == "define":
            out = define(conn, template, args.prefix, args.count)
        else:
            out = {"removed": cleanup(lv, conn, args.prefix)}
    finally:
        conn.close()
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
