"""Grounded answers without an LLM: condensed steps from the best SOP section(s), each cited.

Every line of an answer is copied (trimmed, never reworded) from a section that is cited with a
number, so each claim traces to an SOP id and section. The retriever's calibrated decision picks the
outcome: strong evidence answers; moderate evidence gives a "tentative" answer (the single closest
section, cited, for the reader to check it fits); weak evidence says the SOPs don't cover it, naming
the closest SOP. A technician's clinical question is handed to the pharmacist before any retrieval.
The answer is data; adapters render it.
"""

from __future__ import annotations

import re

from assistant.errors import InvalidInput
from assistant.roles import Action, AnyRole, Role, SystemRole, can
from assistant.sops.chunking import _blocks
from assistant.sops.models import Answer, Chunk, Passage, SectionHit, SopRef
from assistant.sops.search import Retriever
from assistant.sops.text import content_terms, expand_abbreviations
from assistant.sops.triage import is_clinical_question

MAX_QUESTION_CHARS = 2000
_FRAMING = re.compile(r"^(purpose|scope|overview|definitions?)\b", re.I)
_SOP_REF = re.compile(r"\b((?:[A-Z]{2,8}-){1,3}\d{2,4}[A-Z]?)\b")
MAX_LINES_PER_SECTION = 5  # a short section is shown whole; a long one by its most relevant steps
_RECORDS = re.compile(r"^(records?|record keeping|responsibilit)", re.I)
_ASKS_ABOUT_RECORDS = re.compile(
    r"\b(how long|keep|kept|retain|retention|record|records|file|log|who)\b", re.I
)


def _clean(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _shorten(text: str, limit: int = 320) -> str:
    if len(text) <= limit:
        return text
    sentences = re.split(r"(?<=[.;!?])\s+", text)
    out = ""
    for s in sentences:
        if out and len(out) + len(s) + 1 > limit:
            break
        out = f"{out} {s}".strip()
    return out if out else text[: limit - 1] + "…"


def _table_rows(blocks: list[str]) -> list[str]:
    """Turn Markdown table rows into 'Header: value; ...' lines (header and rule rows dropped)."""
    rows = [b for b in blocks if b.lstrip().startswith("|")]
    if len(rows) < 2:
        return blocks
    header = [h.strip(" *") for h in rows[0].strip().strip("|").split("|")]
    out: list[str] = []
    for b in blocks:
        if not b.lstrip().startswith("|"):
            out.append(b)
            continue
        cells = [c.strip() for c in b.strip().strip("|").split("|")]
        if b is rows[0] or all(set(c) <= set("-: ") for c in cells):
            continue
        lead = f"{header[0]} {cells[0]}".strip() if header else cells[0]
        rest = [f"{h}: {c}" for h, c in zip(header[1:], cells[1:], strict=False) if c]
        out.append(f"{lead} — " + "; ".join(rest) if rest else lead)
    return out


def section_text(chunks: list[Chunk]) -> str:
    return "\n".join(c.body for c in sorted(chunks, key=lambda c: c.ordinal))


def select_lines(question: str, body: str, idf: dict[str, float]) -> list[str]:
    blocks = _table_rows(_blocks(body))
    q_terms = set(content_terms(expand_abbreviations(question)))
    scored = []
    for i, block in enumerate(blocks):
        terms = set(content_terms(block))
        scored.append((sum(idf.get(t, 1.0) for t in sorted(q_terms & terms)), i))
    if len(blocks) <= MAX_LINES_PER_SECTION:
        keep = list(range(len(blocks)))
    else:
        best = sorted(scored, key=lambda s: (-s[0], s[1]))[:MAX_LINES_PER_SECTION]
        keep = sorted(i for score, i in best if score > 0) or [0]
    # a table row that matches clearly (e.g. reject code 75) is the answer on its own
    table_hits = [i for score, i in scored if score > 0 and blocks[i] not in _blocks(body)]
    if table_hits:
        top_score = max(scored)[0]
        keep = [i for score, i in scored if i in table_hits and score >= top_score * 0.99] or keep
    return [_shorten(_clean(blocks[i])) for i in keep if _clean(blocks[i])]


def answer_question(retriever: Retriever, question: str, role: AnyRole | str = Role.TECHNICIAN) -> Answer:
    """Answer ``question`` from the index as data (passages with citation numbers), or abstain.

    ``role`` is the asker's real role (from the principal): it decides whether a clinical-judgment
    question is answered or handed to the pharmacist.
    """
    question = (question or "").strip()
    if not question:
        raise InvalidInput("empty question: type what you want to know", field="question")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(
            f"question too long ({len(question)} characters; at most {MAX_QUESTION_CHARS})", field="question"
        )
    role_value = str(role.value if isinstance(role, Role | SystemRole) else role).strip().lower()
    if role_value not in {r.value for r in Role} | {r.value for r in SystemRole}:
        raise InvalidInput(f"unknown role '{role}'", field="role")
    if retriever.index.is_empty():
        raise InvalidInput("the SOP manual has not been indexed yet", code="index_empty")
    if is_clinical_question(question) and not can(role_value, Action.ASK_CLINICAL):
        return Answer(question=question, outcome="clinical_handoff", role=role_value)
    result = retriever.search(question, "hybrid", k=5)
    if result.decision == "abstain" or not result.sections:
        closest = result.sections[0] if result.sections else None
        return Answer(
            question=question,
            outcome="not_covered",
            closest=SopRef(sop_id=closest.sop_id, title=closest.title, section=closest.section)
            if closest
            else None,
            role=role_value,
            evidence=result.evidence,
        )
    idf = retriever.bm25.idf
    bodies = {
        (h.sop_id, h.section): section_text(retriever.section_chunks(h.sop_id, h.section) or h.chunks)
        for h in result.sections[:5]
    }
    chosen = _choose_sections(question, result.sections, bodies, idf)
    if result.decision == "tentative":  # moderate evidence: the single closest section, flagged
        chosen = chosen[:1]
    passages: list[Passage] = []
    for hit in chosen:
        picked = select_lines(question, bodies[(hit.sop_id, hit.section)], idf)
        if not picked:
            continue
        passages.append(
            Passage(
                n=len(passages) + 1,
                sop_id=hit.sop_id,
                title=hit.title,
                section=hit.section,
                source=hit.source,
                score=round(hit.score, 4),
                version=hit.chunks[0].version if hit.chunks else None,
                effective=hit.chunks[0].effective if hit.chunks else None,
                lines=picked,
            )
        )
    cited = {p.sop_id for p in passages}
    quoted = "\n".join(line for p in passages for line in p.lines)
    referenced = [ref for ref in dict.fromkeys(_SOP_REF.findall(quoted)) if ref not in cited]
    titles = {c.sop_id: c.title for c in retriever.index.chunks}
    see_also = [SopRef(sop_id=ref, title=titles[ref]) for ref in referenced if ref in titles]
    return Answer(
        question=question,
        outcome="answered" if result.decision == "answer" else "tentative",
        passages=passages,
        see_also=see_also,
        role=role_value,
        evidence=result.evidence,
    )


def _block_coverage(question: str, heading: str, body: str, idf: dict[str, float]) -> float:
    """Best share of the question's (IDF-weighted) terms found in one block (plus its heading)."""
    q_terms = set(content_terms(expand_abbreviations(question)))
    total = sum(idf.get(t, 1.0) for t in sorted(q_terms)) or 1.0
    heading_terms = set(content_terms(expand_abbreviations(heading)))
    best = 0.0
    for block in _table_rows(_blocks(body)):
        terms = heading_terms | set(content_terms(block))
        best = max(best, sum(idf.get(t, 1.0) for t in sorted(q_terms & terms)) / total)
    return best


def _choose_sections(
    question: str, sections: list[SectionHit], bodies: dict[tuple[str, str], str], idf: dict[str, float]
) -> list[SectionHit]:
    """Re-rank the top sections by how well one of their steps matches the question.

    Retrieval ranks whole sections; a technician wants the one step or table row that answers
    them ("reject 75" lives in one row of the reject table), so a section whose single best block
    matches the question clearly better can overtake a section that is merely about the topic.
    """
    top_score = sections[0].score or 1.0
    candidates = sections[:5]

    def rerank(hit: SectionHit) -> float:
        body = bodies[(hit.sop_id, hit.section)]
        score = 0.5 * hit.score / top_score + 0.5 * _block_coverage(question, hit.section, body, idf)
        # "Purpose" and "Scope" say what an SOP is about, rarely what to do; "Records" and
        # "Responsibilities" answer who/how-long questions, not "what now?"
        if _FRAMING.match(hit.section):
            score *= 0.7
        elif _RECORDS.match(hit.section) and not _ASKS_ABOUT_RECORDS.search(question):
            score *= 0.8
        return score

    ranked = sorted(candidates, key=rerank, reverse=True)
    best = ranked[0]
    chosen = [best]
    for hit in ranked[1:3]:
        if hit.sop_id == best.sop_id and rerank(hit) >= 0.9 * rerank(best):
            chosen.append(hit)
            break
    return chosen
