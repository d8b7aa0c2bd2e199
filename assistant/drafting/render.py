"""Renderers for :class:`Document`: Markdown (chat), DOCX (editable in Word), PDF (fax-ready).

A draft carries a status banner on top (and, in DOCX/PDF, in every page header) so it can never pass
for a final document. An approved export (``stamp`` given) carries no banner: its text is clean
(missing facts become blank lines to complete by hand), its signature block names the approving
pharmacist, and the approval record sits in the file's metadata and a discreet footer. Every page
carries the document's running header (patient name and DOB) and "page x of y", so a page separated
from a fax is still identified.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from assistant.drafting.document import Block, Document, signature_lines
from assistant.drafting.final import ApprovalStamp, clean

BOX = "\u2610"  # ☐


def _final_doc(doc: Document, stamp: ApprovalStamp | None) -> Document:
    """The document as it leaves the pharmacy: unchanged for a draft; for an approved export, clean
    text and the approving pharmacist in every signature block."""
    if stamp is None:
        return doc
    blocks = []
    for b in doc.blocks:
        if b.type == "signature":
            blocks.append(b.model_copy(update={"items": signature_lines(b.text, stamp.signer.values())}))
            continue
        blocks.append(
            b.model_copy(
                update={
                    "text": clean(b.text),
                    "items": [clean(i) for i in b.items],
                    "headers": [clean(h) for h in b.headers],
                    "rows": [[clean(c) for c in row] for row in b.rows],
                }
            )
        )
    return doc.model_copy(
        update={"blocks": blocks, "title": clean(doc.title), "running_header": clean(doc.running_header)}
    )


# ---- Markdown ------------------------------------------------------------------------------------


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", "<br>")


def to_markdown(doc: Document, banner: str, *, stamp: ApprovalStamp | None = None) -> str:
    doc = _final_doc(doc, stamp)
    out: list[str] = [] if stamp else [f"> **{banner}**", ""]
    for b in doc.blocks:
        if b.type == "heading":
            out += ["#" * max(1, min(b.level, 6)) + " " + b.text, ""]
        elif b.type == "para":
            out += [b.text.replace("\n", "  \n"), ""]
        elif b.type == "fields":
            out += ["  \n".join(f"**{label}** {value}".rstrip() for label, value in b.rows), ""]
        elif b.type == "table":
            out.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
            out.append("|" + "---|" * len(b.headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif b.type == "bullets":
            out += [f"- {i}" for i in b.items] + [""]
        elif b.type == "checkboxes":
            out += ["  \n".join(f"{BOX} {i}" for i in b.items), ""]
        elif b.type in ("lines", "signature"):
            out += ["  \n".join(b.items), ""]
        elif b.type == "pagebreak":
            out += ["---", ""]
    if stamp:
        out += ["---", "", f"<sub>{stamp.footer()}</sub>", ""]
    return "\n".join(out).rstrip() + "\n"


# ---- DOCX ----------------------------------------------------------------------------------------


def _docx_field(paragraph, instruction: str) -> None:  # type: ignore[no-untyped-def]
    """A Word field (PAGE, NUMPAGES) so page numbers stay right after edits."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def to_docx(doc: Document, banner: str, *, stamp: ApprovalStamp | None = None) -> bytes:
    import docx
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt, RGBColor

    doc = _final_doc(doc, stamp)
    d = docx.Document()
    size = Pt(doc.min_font_pt)
    for style_name in ("Normal", "List Bullet", "Table Grid"):
        d.styles[style_name].font.size = size
    for level in range(1, 4):
        style = d.styles[f"Heading {level}"]
        style.font.size = Pt(doc.min_font_pt + {1: 6, 2: 3, 3: 1}[level])
        style.font.color.rgb = RGBColor(0, 0, 0)
    section = d.sections[0]
    header = section.header.paragraphs[0]
    header.text = " · ".join(x for x in (None if stamp else banner, doc.running_header) if x)
    if header.runs:
        header.runs[0].bold = stamp is None
        header.runs[0].font.size = size
    footer = section.footer.paragraphs[0]
    footer.add_run((stamp.footer() + " · " if stamp else "") + "page ").font.size = Pt(8)
    _docx_field(footer, "PAGE")
    footer.add_run(" of ").font.size = Pt(8)
    _docx_field(footer, "NUMPAGES")
    if stamp:
        meta = stamp.metadata()
        props = d.core_properties
        props.author, props.subject, props.keywords = meta["author"], meta["subject"], meta["keywords"]
        props.title = doc.title
    else:
        d.add_paragraph().add_run(banner).bold = True

    for b in doc.blocks:
        if b.type == "heading":
            d.add_heading(b.text, level=max(1, min(b.level, 3)))
        elif b.type == "para":
            d.add_paragraph(b.text)
        elif b.type == "fields":
            t = d.add_table(rows=0, cols=2)
            t.style = "Table Grid"
            for label, value in b.rows:
                cells = t.add_row().cells
                cells[0].paragraphs[0].add_run(label).bold = True
                cells[1].text = value
            d.add_paragraph()
        elif b.type == "table":
            t = d.add_table(rows=1, cols=len(b.headers))
            t.style = "Table Grid"
            for cell, h in zip(t.rows[0].cells, b.headers, strict=True):
                cell.paragraphs[0].add_run(h).bold = True
            for row in b.rows:
                for cell, value in zip(t.add_row().cells, row, strict=True):
                    cell.text = value
            d.add_paragraph()
        elif b.type == "bullets":
            for item in b.items:
                d.add_paragraph(item, style="List Bullet")
        elif b.type == "checkboxes":
            for item in b.items:
                d.add_paragraph(f"{BOX} {item}")
        elif b.type in ("lines", "signature"):
            for item in b.items:
                d.add_paragraph(item)
        elif b.type == "pagebreak":
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# ---- PDF -----------------------------------------------------------------------------------------

_FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]


@cache
def _fonts() -> tuple[str, str, bool]:
    """(regular, bold, has_box_glyph). DejaVu Sans when installed (it has ☐), else Helvetica and
    checkboxes drawn as rectangles."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            try:
                pdfmetrics.registerFont(TTFont("RxSans", str(regular)))
                pdfmetrics.registerFont(TTFont("RxSans-Bold", str(bold)))
                return "RxSans", "RxSans-Bold", True
            except Exception:  # a broken font file must not stop a fax going out
                continue
    return "Helvetica", "Helvetica-Bold", False


def _checkbox_flowable(text: str, style, box_pt: float):  # type: ignore[no-untyped-def]
    from reportlab.platypus import Flowable, Paragraph

    class _Box(Flowable):
        def __init__(self) -> None:
            super().__init__()
            self.para = Paragraph(escape(text), style)

        def wrap(self, aw, ah):  # type: ignore[no-untyped-def]
            w, h = self.para.wrap(aw - box_pt * 2, ah)
            self.height = max(h, box_pt)
            return aw, self.height

        def draw(self) -> None:
            self.canv.rect(0, self.height - box_pt - 1, box_pt, box_pt, stroke=1, fill=0)
            self.para.drawOn(self.canv, box_pt * 2, 0)

    return _Box()


def _numbered_canvas(draw_page):  # type: ignore[no-untyped-def]
    """A canvas class that knows the page count when it draws each page's header and footer."""
    from reportlab.pdfgen import canvas as rl_canvas

    class _Canvas(rl_canvas.Canvas):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                draw_page(self, self._pageNumber, total)
                super().showPage()
            super().save()

    return _Canvas


def to_pdf(doc: Document, banner: str, *, stamp: ApprovalStamp | None = None) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import inch
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    doc = _final_doc(doc, stamp)
    regular, bold, has_box = _fonts()
    size = doc.min_font_pt
    body = ParagraphStyle("body", fontName=regular, fontSize=size, leading=size * 1.3, spaceAfter=size * 0.5)
    label = ParagraphStyle("label", parent=body, fontName=bold, spaceAfter=0)
    cell = ParagraphStyle("cell", parent=body, spaceAfter=0)
    heads = {
        lvl: ParagraphStyle(
            f"h{lvl}",
            parent=body,
            fontName=bold,
            fontSize=size + {1: 5, 2: 3, 3: 1}[lvl],
            leading=(size + 6) * 1.3,
            spaceBefore=size * 0.6,
        )
        for lvl in (1, 2, 3)
    }
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
    )
    width = LETTER[0] - 1.5 * inch

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    story: list = [] if stamp else [para(banner, label), Spacer(1, size * 0.6)]
    write_in = doc.recipient == "patient"  # empty boxes on the patient's forms are for handwriting
    heading: list = []  # headings wait for what follows them: a heading never ends a page alone
    for b in doc.blocks:
        flowables = _pdf_block(b, para, heads, body, label, cell, grid, width, has_box, size, write_in)
        if b.type == "heading":
            heading += flowables
            continue
        if b.type in ("lines", "signature") and story and not heading:
            # write-in lines stay with what they answer (a signature never sits alone on a page)
            flowables = [KeepTogether(_flat([story.pop(), *flowables]))]
        elif heading and flowables and b.type != "pagebreak":
            flowables = [KeepTogether(heading + _flat(flowables[:1])), *flowables[1:]]
        else:
            story += heading
        heading = []
        story += flowables
    story += heading

    def draw_page(canvas, page: int, total: int) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        top = LETTER[1] - 0.5 * inch
        left, right = 0.75 * inch, LETTER[0] - 0.75 * inch
        if stamp is None:
            canvas.setFont(bold, 9)
            canvas.drawString(left, top, banner)
            top -= 11
        if doc.running_header:
            canvas.setFont(regular, 9)
            canvas.drawString(left, top, doc.running_header)
        canvas.setFont(regular, 8 if stamp else 9)
        canvas.drawRightString(right, 0.5 * inch, f"{doc.title} - page {page} of {total}")
        if stamp:
            canvas.setFillGray(0.35)
            canvas.drawString(left, 0.5 * inch - 10, stamp.footer())
        canvas.restoreState()

    meta = stamp.metadata() if stamp else {"author": "", "subject": banner, "keywords": "rxdesk, draft"}
    buf = io.BytesIO()
    SimpleDocTemplate(
        buf,
        pagesize=LETTER,
        leftMargin=0.75 * inch,
        rightMargin=0.75 * inch,
        topMargin=0.9 * inch,
        bottomMargin=0.9 * inch,
        title=doc.title,
        author=meta["author"],
        subject=meta["subject"],
        keywords=meta["keywords"],
        creator="rxdesk",
    ).build(story, canvasmaker=_numbered_canvas(draw_page))
    return buf.getvalue()


def _flat(flowables: list) -> list:
    """KeepTogether contents inlined: a KeepTogether inside another reports an endless height."""
    from reportlab.platypus import KeepTogether

    out: list = []
    for f in flowables:
        out += _flat(list(f._content)) if isinstance(f, KeepTogether) else [f]
    return out


def _pdf_block(b: Block, para, heads, body, label, cell, grid, width, has_box, size, write_in=False) -> list:  # type: ignore[no-untyped-def]
    from reportlab.lib import colors
    from reportlab.platypus import KeepTogether, PageBreak, Spacer, Table

    if b.type == "heading":
        return [para(b.text, heads[max(1, min(b.level, 3))])]
    if b.type == "para":
        return [para(b.text)]
    if b.type == "fields":
        # on the patient's forms an empty value is a box to write in: room for a line of handwriting
        data = [[para(k, label), para(v or ("\n" if write_in else ""), cell)] for k, v in b.rows]
        t = Table(data, colWidths=[width * 0.36, width * 0.64])
        t.setStyle(grid)
        return [KeepTogether([t, Spacer(1, size * 0.6)])]  # a box never splits across pages
    if b.type == "table":
        n = max(1, len(b.headers))
        data = [[para(h, label) for h in b.headers]] + [[para(c, cell) for c in row] for row in b.rows]
        t = Table(data, colWidths=[width / n] * n, repeatRows=1)
        t.setStyle(grid)
        t.setStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDDD"))])
        return [t, Spacer(1, size * 0.6)]
    if b.type == "bullets":
        return [para(f"\u2022 {i}") for i in b.items]
    if b.type == "checkboxes":
        boxes = (
            [para(f"{BOX} {i}", body) for i in b.items]
            if has_box
            else [_checkbox_flowable(i, body, size) for i in b.items]
        )
        return [KeepTogether(boxes)]
    if b.type in ("lines", "signature"):
        return [KeepTogether([Spacer(1, size * 0.4)] + [para(i) for i in b.items])]
    if b.type == "pagebreak":
        return [PageBreak()]
    return []
