"""Write a generated consortium to a directory, atomically.

Layout of ``out_dir``::

    companies.csv  persons.csv  shareholdings.csv  guarantees.csv  defaults.csv
    members/m01.csv ... members/mK.csv
    consortium.json     seed, scoring date, config, counts, member ids and sizes,
                        label-model coefficients, planted structures

Everything is first written to a fresh temporary directory next to ``out_dir`` and then
renamed into place, so a reader never sees a half-written consortium: if anything fails (or
the process is interrupted) the temporary directory is removed and ``out_dir`` is untouched.
Files are byte-identical for identical consortia (fixed column order, ``\\n`` line ends,
sorted JSON keys).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from graph_risk.frames import TABLE_COLUMNS
from simulations.consortium.config import Consortium

FORMAT_VERSION = 1
MANIFEST = "consortium.json"
MEMBERS_DIR = "members"

FileCallback = Callable[[str], None]


def output_files(consortium: Consortium) -> list[str]:
    """Relative paths ``write_consortium`` creates, in the order it writes them."""
    tables = [f"{name}.csv" for name in TABLE_COLUMNS]
    members = [f"{MEMBERS_DIR}/{mid}.csv" for mid in consortium.members]
    return [*tables, *members, MANIFEST]


def manifest(consortium: Consortium) -> dict[str, object]:
    """The ``consortium.json`` content."""
    cfg = consortium.config
    return {
        "format_version": FORMAT_VERSION,
        "seed": cfg.seed,
        "scoring_date": cfg.scoring_date.isoformat(),
        "config": cfg.to_dict(),
        "counts": consortium.counts(),
        "member_ids": list(consortium.members),
        "members": consortium.member_stats(),
        "files": output_files(consortium),
        "label_model": consortium.model,
        "planted": consortium.planted.to_dict(),
    }


def write_consortium(
    consortium: Consortium,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    on_file: FileCallback | None = None,
) -> Path:
    """Write ``consortium`` to ``out_dir`` (see module docstring); return the directory.

    Parameters
    ----------
    consortium
        What :func:`generate_consortium` returned.
    out_dir
        Target directory. It must not exist, or be empty, unless ``overwrite`` is true.
    overwrite
        Replace an existing non-empty ``out_dir`` (swapped in only after the new one is
        complete).
    on_file
        Called with each relative path once that file is written (progress reporting).

    Raises
    ------
    FileExistsError
        ``out_dir`` is a file, or a non-empty directory and ``overwrite`` is false.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"output directory {out} exists and is not empty; choose another path or overwrite"
        )
    notify = on_file if on_file is not None else (lambda _path: None)
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary directory
        _write_all(consortium, tmp, notify)
        _swap_in(tmp, out.absolute())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_all(consortium: Consortium, root: Path, notify: FileCallback) -> None:
    graph = consortium.graph
    for name in TABLE_COLUMNS:
        frame = graph.table(name)
        frame.to_csv(root / f"{name}.csv", index=False, lineterminator="\n")
        notify(f"{name}.csv")
    (root / MEMBERS_DIR).mkdir()
    for mid, frame in consortium.members.items():
        frame.to_csv(root / MEMBERS_DIR / f"{mid}.csv", index=False, lineterminator="\n")
        notify(f"{MEMBERS_DIR}/{mid}.csv")
    text = json.dumps(manifest(consortium), indent=1, sort_keys=True)
    (root / MANIFEST).write_text(text + "\n", encoding="utf-8")
    notify(MANIFEST)


def _swap_in(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is replaced only after that succeeds."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
