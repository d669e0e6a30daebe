"""The in-process benchmarks still run against the code as it is (a change of the invoice's
shape once broke one silently: benchmarks gate nothing in CI, so this smoke run does)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import einvoice, pdf


def test_the_einvoice_benchmark_runs_every_format(capsys: Any) -> None:
    assert einvoice.main(["--lines", "3", "--runs", "3"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == ["facturx", "xrechnung_cii", "xrechnung_ubl", "ubl"]


@pytest.mark.slow
def test_the_pdf_benchmark_runs(capsys: Any) -> None:
    assert pdf.main(["--rounds", "1", "--samples", "3", "--lines", "1"]) == 0
    out = capsys.readouterr().out
    assert "First render, hybrid ÷ plain" in out and "Stored hybrid through GET /i/…/pdf" in out
