"""Build a synthetic SOP corpus from the shipped SOPs' own sentences (deterministic, seeded).

Used by the benchmarks only: N files with SOP-style front matter and headings, whose sections are
shuffled sentences of real SOPs, so token statistics and vocabulary match production text.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from assistant.sops.readers import read_source

ROOT = Path(__file__).resolve().parent.parent


def _sentences() -> list[str]:
    out: list[str] = []
    for path in sorted((ROOT / "knowledge" / "sops").glob("*.md")):
        text = read_source(path).text
        for line in text.splitlines():
            line = re.sub(r"^\s*(?:[-*+]|\d+[.)]|#+)\s*", "", line).strip()
            if len(line) > 40 and not line.startswith("|"):
                out.extend(s for s in re.split(r"(?<=[.!?])\s+", line) if len(s) > 25)
    return out


def build(
    target: Path, files: int, sections_per_file: int = 10, sentences_per_section: int = 6, seed: int = 7
) -> Path:
    """Write ``files`` SOPs into ``target`` (reused when already there) and return the folder."""
    target.mkdir(parents=True, exist_ok=True)
    if len(list(target.glob("*.md"))) == files:
        return target
    rng = random.Random(seed)
    pool = _sentences()
    for i in range(files):
        sop_id = f"SYN-{i // 100 + 1:03d}-{i % 100:03d}"
        lines = [
            "---",
            f"id: {sop_id}",
            f"title: Synthetic procedure {i}",
            'version: "1.0"',
            "---",
            f"# {sop_id} Synthetic procedure {i}",
            "",
        ]
        for s in range(sections_per_file):
            lines.append(f"## Section {s}: {rng.choice(pool)[:50]}")
            lines.extend(f"{n + 1}. {rng.choice(pool)}" for n in range(sentences_per_section))
            lines.append("")
        (target / f"{sop_id}.md").write_text("\n".join(lines), encoding="utf-8")
    return target
