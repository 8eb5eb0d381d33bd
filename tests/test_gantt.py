"""Gantt charts: bars from the schedule, Chinese names rendered, files self-contained."""

import io
import re
import xml.etree.ElementTree as ET

import pytest

from process_models.errors import InvalidInput
from process_models.loading import parse_procedure
from simulations.planning import applicant_levers, reforms
from simulations.planning.gantt import (
    cjk_font_path,
    gantt_bars,
    gantt_html,
    plot_gantt,
    write_gantt,
)
from simulations.planning.gantt_svg import gantt_svg
from tests.test_reforms import SHOP

GLYPH_WARNING = re.compile(r"Glyph .* missing from|missing from font", re.IGNORECASE)


@pytest.fixture
def shop():
    return parse_procedure(SHOP)


@pytest.fixture
def reformed(shop):
    after, _ = reforms.parallelise(shop)
    after, _ = applicant_levers.commitment(after, ["food"])
    return after


def glyph_warnings(recorded) -> list[str]:
    return [str(w.message) for w in recorded if GLYPH_WARNING.search(str(w.message))]


def test_bars_follow_the_schedule_and_mark_the_critical_path(shop):
    bars = {b.step_id: b for b in gantt_bars(shop)}
    assert (bars["food"].start, bars["food"].finish) == (15, 25)
    assert bars["licence"].total_slack == 12 and not bars["licence"].critical
    assert [b.step_id for b in gantt_bars(shop) if b.critical] == ["assessment", "food", "fire",
                                                                    "sign"]


def test_follow_up_checks_are_not_drawn(reformed):
    assert "food_verification" not in {b.step_id for b in gantt_bars(reformed)}


def test_a_font_without_chinese_glyphs_would_be_caught(recwarn):
    """The glyph check below can fail: DejaVu Sans has no Chinese, and matplotlib says so."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure()
    fig.text(0.1, 0.5, "营业执照", family="DejaVu Sans")
    fig.savefig(io.BytesIO(), format="png")
    assert glyph_warnings(recwarn.list)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".html"])
def test_chinese_step_names_render_without_missing_glyphs(shop, reformed, tmp_path, recwarn,
                                                          suffix):
    path = write_gantt(tmp_path / f"chart{suffix}", shop, reformed)
    assert path.stat().st_size > 1000
    assert glyph_warnings(recwarn.list) == []


def test_png_is_a_png_and_svg_is_well_formed_xml(shop, reformed, tmp_path):
    png = write_gantt(tmp_path / "c.png", shop, reformed)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = write_gantt(tmp_path / "c.svg", shop, reformed)
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_html_is_self_contained_and_lists_both_schedules(shop, reformed):
    page = gantt_html(shop, reformed)
    assert "<svg" in page and page.count("<table>") == 2
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page
    assert "食品经营许可" in page and 'class="critical"' in page


def test_one_procedure_draws_one_panel_and_two_draw_two(shop, reformed):
    assert len(plot_gantt(shop).axes) == 1
    assert len(plot_gantt(shop, reformed).axes) == 2


def test_an_unknown_chart_format_is_one_line_with_a_suggestion(shop, tmp_path):
    with pytest.raises(InvalidInput, match=r"cannot write a Gantt chart as '.sgv'.*"
                                           r"\(did you mean '.svg'\?\)"):
        write_gantt(tmp_path / "c.sgv", shop)


def test_the_cjk_font_is_found_by_path():
    assert cjk_font_path().is_file()


@pytest.mark.parametrize("lang, words", [("zh", ("改革前", "改革后", "受理后工作日", "关键路径")),
                                         ("en", ("Before", "After", "working days after",
                                                 "critical path"))])
def test_the_pages_svg_names_every_step_and_marks_the_critical_ones(shop, reformed, lang, words):
    """The page's chart (no matplotlib) is well-formed SVG with one bar per step of each
    schedule, by name, the critical ones marked as the schedule says, in the page's language."""
    svg = gantt_svg(shop, reformed, lang=lang)
    root = ET.fromstring(svg)
    bars = root.findall(".//{http://www.w3.org/2000/svg}g[@data-step]")
    expected = gantt_bars(shop) + gantt_bars(reformed)
    assert [b.get("data-step") for b in bars] == [b.step_id for b in expected]
    assert [b.get("class") == "bar critical" for b in bars] == [b.critical for b in expected]
    assert all(word in svg for word in words)
    assert all(b.name[:10] in svg for b in expected)


def test_the_pages_svg_hover_gives_a_steps_days_and_slack(shop):
    """Each bar's hover text names its department, its working days and its total slack."""
    svg = gantt_svg(shop)
    licence = next(b for b in gantt_bars(shop) if b.step_id == "licence")
    assert f"{licence.department}；受理后第 {licence.start:g}–{licence.finish:g} 个工作日；" \
           f"总时差 12 个工作日" in svg
