"""Regenerate the README's Console API operations table from docs/operations.tsv and the app.

python tools/readme_operations.py          # rewrite README.md in place
python tools/readme_operations.py --check  # exit 1 when README.md is stale
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations.tsv"
BEGIN = "<!-- operations:begin -->"
END = "<!-- operations:end -->"


def served_operations() -> set[tuple[str, str]]:
    from lockgate.app import create_app
    from lockgate.faces.console.router import served_operations as from_app
    from lockgate.kit.settings import Settings

    return from_app(create_app(Settings(database_url="sqlite://")))


def render_table() -> str:
    served = served_operations()
    with OPERATIONS.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    done: Counter[str] = Counter()
    total: Counter[str] = Counter()
    lines = ["| Tag | Method | Path | Summary | Implemented |", "|---|---|---|---|---|"]
    for row in rows:
        implemented = (row["method"], row["path"]) in served
        total[row["tag"]] += 1
        done[row["tag"]] += implemented
        path = row["path"].removeprefix("/console/v1")
        lines.append(
            f"| {row['tag']} | {row['method']} | `{path}` | {row['summary']} | "
            f"{'yes' if implemented else 'no'} |"
        )
    summary = ", ".join(f"{tag} {done[tag]}/{total[tag]}" for tag in sorted(total) if done[tag])
    head = f"{sum(done.values())} of {len(rows)} operations implemented" + (
        f" ({summary})." if summary else "."
    )
    return "\n".join([head, "", *lines])


def rewrite(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + render_table() + "\n" + text[end:]


def main() -> None:
    text = README.read_text()
    fresh = rewrite(text)
    if "--check" in sys.argv:
        if fresh != text:
            print("README.md operations table is stale: run python tools/readme_operations.py")
            raise SystemExit(1)
        return
    README.write_text(fresh)


if __name__ == "__main__":
    main()
