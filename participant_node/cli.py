"""`fedcredit node ...`: the member's commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from participant_node.data import (
    Contract,
    ContractError,
    ValidationReport,
    infer_contract_file,
    load_contract,
    validate_file,
)
from participant_node.data.report import ROW_NOTE

app = typer.Typer(help="Member (participant node) commands.", no_args_is_help=True)


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code=1)


@app.command("validate")
def validate_cmd(
    contract: Path = typer.Option(..., "--contract", "-c", help="Consortium contract (TOML)."),
    data: Path = typer.Option(..., "--data", "-d", help="Member data file (CSV or Parquet)."),
    encoding: str | None = typer.Option(
        None, "--encoding", "-e", help="Text encoding of a CSV file, e.g. gbk (default UTF-8)."
    ),
    max_errors: int = typer.Option(100, "--max-errors", min=1, help="Errors to list."),
    no_label: bool = typer.Option(
        False, "--no-label", help="A file to score: the label column may be absent."
    ),
) -> None:
    """Check a data file against the consortium contract; exit 1 if it breaks any rule."""
    console = Console(highlight=False)
    try:
        spec = load_contract(contract)
    except ContractError as e:
        raise _fail(console, str(e)) from None
    report = validate_file(
        data, spec, encoding=encoding, max_errors=max_errors, require_label=not no_label
    )
    if report.ok:
        _print_ok(console, report, spec)
        return
    _print_errors(console, report)
    raise typer.Exit(code=1)


def _print_ok(console: Console, report: ValidationReport, spec: Contract) -> None:
    console.print(f"[bold green]OK[/] {report.file}", soft_wrap=True)
    console.print(
        f"format {report.format}"
        + (f", encoding {report.encoding}" if report.encoding else "")
        + f", contract {spec.fingerprint()[:16]}"
    )
    console.print(
        f"rows: {report.rows}   positives: {report.positives}   "
        f"negatives: {report.negatives}"
        + (f"   blank rows skipped: {report.blank_rows}" if report.blank_rows else "")
    )
    table = Table(title="missing values per column")
    table.add_column("column")
    table.add_column("role")
    table.add_column("missing", justify="right")
    for col, n in report.missing.items():
        role = (
            "label"
            if col == spec.label
            else "id"
            if col == spec.id_column
            else spec.feature(col).type
        )
        table.add_row(col, role, str(n))
    console.print(table)
    if report.ignored_columns:
        console.print("ignored columns: " + ", ".join(report.ignored_columns), soft_wrap=True)


def _print_errors(console: Console, report: ValidationReport) -> None:
    console.print(
        f"[bold red]{report.error_count} validation error(s)[/] in {report.file}", soft_wrap=True
    )
    console.print(ROW_NOTE)
    table = Table(show_lines=False)
    for name in ("file", "row", "line", "column", "rule", "value", "message"):
        short = name in ("row", "line", "rule")
        table.add_column(
            name,
            overflow="fold",
            no_wrap=short,
            ratio=3 if name == "message" else None if short else 1,
        )
    for issue in report.issues:
        table.add_row(
            Path(issue.file).name,
            _s(issue.row),
            _s(issue.line),
            _s(issue.column),
            issue.rule,
            _s(issue.value),
            issue.message,
        )
    console.print(table)
    if report.hidden:
        console.print(f"... and {report.hidden} more error(s) not shown (--max-errors)")
    if not report.complete:
        console.print("[yellow]reading stopped early; later rows were not checked[/]")
    console.print(
        "errors by rule: " + ", ".join(f"{k}={v}" for k, v in sorted(report.counts.items())),
        soft_wrap=True,
    )


def _s(value: object) -> str:
    return "" if value is None else str(value)


@app.command("infer-contract")
def infer_contract_cmd(
    data: Path = typer.Option(..., "--data", "-d", help="Pooled data file (CSV or Parquet)."),
    label: str = typer.Option(..., "--label", help="Label column."),
    positive: str = typer.Option(..., "--positive", help="The label's positive value."),
    out: Path = typer.Option(..., "--out", "-o", help="Contract file to write (TOML)."),
    id_column: str | None = typer.Option(None, "--id-column", help="Record id column."),
    exclude: list[str] = typer.Option([], "--exclude", help="Column to ignore (repeatable)."),
    categorical: list[str] = typer.Option(
        [], "--categorical", help="Force a numeric-looking column to categorical (repeatable)."
    ),
    encoding: str | None = typer.Option(None, "--encoding", "-e", help="CSV text encoding."),
) -> None:
    """Infer a contract from a whole data set (rules: docs/data-contract.md) and save it."""
    console = Console(highlight=False)
    try:
        spec = infer_contract_file(
            data, label, positive, id_column, exclude, encoding=encoding, categorical=categorical
        )
    except ValueError as e:
        raise _fail(console, str(e)) from None
    spec.save(out)
    kinds = [f.type for f in spec.features]
    console.print(
        f"wrote {out}: {kinds.count('numeric')} numeric and "
        f"{kinds.count('categorical')} categorical features, label {spec.label!r} "
        f"(positive {spec.positive!r}, negative {spec.negative!r}), "
        f"fingerprint {spec.fingerprint()[:16]}",
        soft_wrap=True,
    )
    if spec.exclude:
        console.print("excluded: " + ", ".join(spec.exclude), soft_wrap=True)


@app.command("verify")
def verify_cmd(
    attestations: Path = typer.Option(..., "--attestations", help="attestations.jsonl of a run."),
    public_key: Path = typer.Option(..., "--public-key", help="The consortium public key."),
    max_epsilon: float = typer.Option(3.0, "--max-epsilon", help="Largest acceptable epsilon."),
) -> None:
    """Verify from the coordinator's records that a run was encrypted and DP throughout."""
    from participant_node.verify import read_records, verify_records
    from privacy.keys import fingerprint, load_public_key

    console = Console()
    try:
        fp = fingerprint(load_public_key(public_key))
        records = read_records(attestations)
    except (OSError, ValueError) as exc:
        raise _fail(console, str(exc)) from None
    problems = verify_records(records, fingerprint=fp, max_epsilon=max_epsilon)
    if problems:
        for p in problems:
            console.print(f"[red]FAIL[/] {p}", highlight=False)
        raise typer.Exit(code=1)
    members = sorted({m for r in records for m in r["per_member"]})
    worst = max(float(e["epsilon"]) for r in records for e in r["per_member"].values())
    console.print(
        f"[green]OK[/] {len(records)} rounds attested: paillier-packed under {fp[:23]}..., "
        f"DP-SGD at every member ({', '.join(members)}), max epsilon {worst:.3f} <= "
        f"{max_epsilon}",
        highlight=False,
    )


def _register_scoring() -> None:
    from participant_node.scoring.commands import register

    register(app)


_register_scoring()
