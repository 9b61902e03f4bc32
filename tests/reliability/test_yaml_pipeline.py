"""A project as users write it: CSV in, JSON out, the catalog and parameters in YAML.

The same project, copied once per policy, runs under every local policy; the files it writes
must be the same bytes each time, and what a plain Python evaluation says they hold. The
configuration uses what a real project does: ``conf/base`` overlaid by ``conf/local``, nested
parameters, save arguments, and a dataset factory for the report files.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from pipeloop import AbstractRunner, Pipeline, SequentialRunner, node
from pipeloop.datasets import CSVDataset, JSONDataset
from pipeloop.datasets.config import ConfigLoader, catalog_from_conf

# -- node functions (module level: ParallelRunner workers import them by name) -----------


def clean_orders(rows: list[dict[str, str]], min_quantity: int) -> list[dict[str, Any]]:
    """Typed rows with at least ``min_quantity`` items; prices in cents."""
    cleaned = []
    for row in rows:
        quantity = int(row["quantity"])
        if quantity >= min_quantity:
            cents = round(float(row["unit_price"]) * 100)
            cleaned.append({"order": int(row["order_id"]), "customer": row["customer"].strip(),
                            "note": row["note"], "cents": quantity * cents})
    return cleaned


async def customer_totals(orders: list[dict[str, Any]]) -> dict[str, int]:
    await anyio.sleep(0.01)
    totals: dict[str, int] = {}
    for order in orders:
        totals[order["customer"]] = totals.get(order["customer"], 0) + order["cents"]
    return dict(sorted(totals.items()))


def summarise(totals: dict[str, int], reporting: dict[str, Any]) -> dict[str, Any]:
    revenue = sum(totals.values()) / 100
    return {"customers": len(totals), "currency": reporting["currency"],
            "revenue": round(revenue, reporting["digits"])}


def rank_customers(totals: dict[str, int], top: int) -> list[dict[str, Any]]:
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [{"rank": rank, "customer": name, "cents": cents}
            for rank, (name, cents) in enumerate(ranked, start=1)]


PIPELINE = Pipeline([
    node(clean_orders, ["raw_orders", "params:cleaning.min_quantity"], "clean_orders",
         name="clean_orders"),
    node(customer_totals, "clean_orders", "customer_totals", name="customer_totals"),
    node(summarise, ["customer_totals", "params:reporting"], "summary", name="summarise"),
    node(rank_customers, ["customer_totals", "params:reporting.top"], "top_customers_report",
         name="rank_customers"),
])

# -- the project ---------------------------------------------------------------------------

ORDERS = [
    {"order_id": "1", "customer": "Zoë", "quantity": "3", "unit_price": "2.50",
     "note": "first, with a comma"},
    {"order_id": "2", "customer": " Jürgen ", "quantity": "1", "unit_price": "99.99",
     "note": 'said "hello"'},
    {"order_id": "3", "customer": "李雷", "quantity": "12", "unit_price": "0.10", "note": ""},
    {"order_id": "4", "customer": "Zoë", "quantity": "2", "unit_price": "10.00",
     "note": "multi\nline"},
    {"order_id": "5", "customer": "Ada", "quantity": "5", "unit_price": "1.99", "note": "ok"},
    {"order_id": "6", "customer": "Jürgen", "quantity": "4", "unit_price": "3.25", "note": "-"},
]

CATALOG_YML = """
raw_orders:
  type: CSVDataset
  filepath: data/01_raw/orders.csv
clean_orders:
  type: JSONDataset
  filepath: data/02_intermediate/clean_orders.json
  save_args: {ensure_ascii: false, indent: 1}
customer_totals:
  type: MemoryDataset
summary:
  type: JSONDataset
  filepath: data/08_reporting/summary.json
  save_args: {sort_keys: true}
"{name}_report":
  type: JSONDataset
  filepath: data/08_reporting/{name}.json
"""

PARAMETERS_YML = """
cleaning:
  min_quantity: 1
reporting:
  currency: EUR
  digits: 2
  top: 2
"""

LOCAL_PARAMETERS_YML = """
cleaning:
  min_quantity: 2   # overrides base: order 2 (one item) is dropped
"""


def write_project(root: Path) -> None:
    files = {
        "conf/base/catalog.yml": CATALOG_YML,
        "conf/base/parameters.yml": PARAMETERS_YML,
        "conf/local/parameters.yml": LOCAL_PARAMETERS_YML,
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(ORDERS[0]))
    writer.writeheader()
    writer.writerows(ORDERS)
    raw = root / "data/01_raw/orders.csv"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(buffer.getvalue().encode("utf-8"))


def expected_files() -> dict[str, Any]:
    """What the project's output files hold, computed by hand from ``ORDERS``."""
    clean = [
        {"order": 1, "customer": "Zoë", "note": "first, with a comma", "cents": 750},
        {"order": 3, "customer": "李雷", "note": "", "cents": 120},
        {"order": 4, "customer": "Zoë", "note": "multi\nline", "cents": 2000},
        {"order": 5, "customer": "Ada", "note": "ok", "cents": 995},
        {"order": 6, "customer": "Jürgen", "note": "-", "cents": 1300},
    ]
    return {
        "02_intermediate/clean_orders.json": clean,
        "08_reporting/summary.json": {"currency": "EUR", "customers": 4, "revenue": 51.65},
        "08_reporting/top_customers.json": [
            {"rank": 1, "customer": "Zoë", "cents": 2750},
            {"rank": 2, "customer": "Jürgen", "cents": 1300},
        ],
    }


def written_files(project: Path) -> dict[str, bytes]:
    data = project / "data"
    return {
        path.relative_to(data).as_posix(): path.read_bytes()
        for path in sorted(data.rglob("*")) if path.is_file() and "01_raw" not in path.parts
    }


POLICIES: dict[str, Callable[[Callable[..., AbstractRunner]], AbstractRunner]] = {
    "sequential": lambda runner_of: runner_of("sequential"),
    "sequential-one-dataset-at-a-time": lambda runner_of: SequentialRunner(is_async=False),
    "thread": lambda runner_of: runner_of("thread"),
    "process": lambda runner_of: runner_of("process"),
}


async def test_a_yaml_project_writes_the_same_bytes_under_every_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner_of: Callable[..., AbstractRunner],
    assert_whole_files: Callable[[Path], None],
) -> None:
    template = tmp_path / "template"
    write_project(template)
    raw = (template / "data/01_raw/orders.csv").read_bytes()
    outputs: dict[str, dict[str, bytes]] = {}
    for policy, make in POLICIES.items():
        project = tmp_path / policy
        shutil.copytree(template, project)
        monkeypatch.chdir(project)  # catalog paths are relative to the project, as in Kedro
        catalog = catalog_from_conf(ConfigLoader("conf"))
        assert isinstance(catalog["raw_orders"], CSVDataset)
        assert isinstance(catalog["top_customers_report"], JSONDataset)  # from the factory

        result = await make(runner_of).run(PIPELINE, catalog)

        assert result == {}, "every output lives in the catalog"
        outputs[policy] = written_files(project)
        assert (project / "data/01_raw/orders.csv").read_bytes() == raw, "the input changed"
        assert_whole_files(project)

    reference = outputs["sequential"]
    assert {name: json.loads(content) for name, content in reference.items()} == expected_files()
    for policy, files in outputs.items():
        assert files == reference, f"{policy} wrote different bytes than sequential"
