"""Replace one benchmark's section of docs/benchmarks.md, between its HTML comment markers."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(script: str, body: str, doc: Path = DOC) -> None:
    """Put body between `<!-- script -->` and `<!-- /script -->`, appending them if absent."""
    start, end = f"<!-- {script} -->", f"<!-- /{script} -->"
    section = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text(encoding="utf-8")
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
    print(f"wrote {doc.relative_to(doc.parents[1])}")
