"""The national 高效办成一件事 batches: each count with its basis, each batch and item verified
against a cited source or saying why not, each catalog link a catalog procedure; and the
command that shows them."""

import json

import pytest

from process_models.catalog import catalog_ids
from process_models.catalog.national_lists import (
    NATIONAL_LISTS_PATH,
    load_national_lists,
    parse_national_lists,
)
from process_models.errors import ProcedureError, UnknownReference
from process_models.procedure import Basis


@pytest.fixture(scope="module")
def lists():
    return load_national_lists()


def test_the_2024_first_batch_counts_thirteen_items_from_its_notice_and_lists_them(lists):
    first = lists.batch("2024-1")
    assert first.document == "国发〔2024〕3号"
    assert (first.count.count, first.count.basis) == (13, Basis.sourced)
    assert len(first.items) == 13 and not first.verified and first.reason


def test_every_source_a_count_or_item_names_is_cited_in_the_file(lists):
    """A sourced count and a verified item name a source the file lists, so each claim can
    be followed to its document."""
    titles = " ".join(s.title for s in lists.sources)
    counts = [lists.total, *(b.count for b in lists.batches)]
    named = [c.source for c in counts if c.basis is Basis.sourced]
    named += [i.source for b in lists.batches for i in b.items if i.verified]
    assert named and [s for s in named if s not in titles] == []


def test_the_sources_titles_read_chinese_and_keep_their_english(lists):
    """The titles a count or an item names read Chinese; the English they had sits beside
    them in ``title_en``."""
    from tests.test_catalog import english_words

    assert [s.title for s in lists.sources if english_words(s.title)] == []
    assert [s.title for s in lists.sources if s.title_en and not english_words(s.title_en)] == []
    assert lists.sources[2].title_en.startswith("国办发〔2025〕24号: 总体清单 of 153 items")


def test_whatever_is_not_verified_says_why(lists):
    assert [b.id for b in lists.batches if not b.verified and not b.reason] == []
    assert [i.name for b in lists.batches for i in b.items
            if not i.verified and not b.reason_of(i)] == []


def test_the_catalog_models_most_of_the_2024_first_batch(lists):
    """Each link names a catalog procedure; 12 of the 13 first-batch items are modelled."""
    linked = [i.catalog for b in lists.batches for i in b.items if i.catalog]
    assert set(linked) <= set(catalog_ids())
    assert sum(i.catalog is not None for i in lists.batch("2024-1").items) >= 12


GOOD_BATCH = """
name: 清单
sources: [{title: 国发〔2024〕3号 通知, url: https://example.org/a}]
total: {count: 2, basis: sourced, source: 国发〔2024〕3号 通知}
batches:
- id: b1
  name: 第一批
  issued: 2024-01
  count: {count: 2, basis: sourced, source: 国发〔2024〕3号 通知}
  verified: false
  reason: 附件未取得
  items:
  - {name: 新生儿出生, for: 个人, catalog: newborn}
"""


def test_a_well_formed_list_parses():
    assert parse_national_lists(GOOD_BATCH).batch("b1").item("新生儿出生").catalog == "newborn"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("catalog: newborn", "catalog: newbron",
     (r"x\.yaml:13: batches\[0\]\.items\[0\]\.catalog: no catalog procedure 'newbron' "
      r"\(did you mean 'newborn'\?\)")),
    ("  reason: 附件未取得\n", "", "an unverified batch needs reason"),
    ("count: {count: 2, basis: sourced, source: 国发〔2024〕3号 通知}\n  verified",
     "count: {count: 0, basis: sourced, source: 国发〔2024〕3号 通知}\n  verified",
     "lists 1 items but counts 0"),
    ("total: {count: 2, basis: sourced, source: 国发〔2024〕3号 通知}",
     "total: {count: 2, basis: sourced}", "a sourced count needs source"),
    ("catalog: newborn}", "catalog: newborn, verified: true}", "a verified item needs source"),
    ("for: 个人", "for: 市民", r"items\[0\]\.for"),
    ("  - {name: 新生儿出生, for: 个人, catalog: newborn}\n",
     "  - {name: 新生儿出生, for: 个人, catalog: newborn}\n  - {name: 新生儿出生}\n",
     "item '新生儿出生' is listed twice"),
])
def test_a_bad_list_is_one_located_line(old, new, message):
    assert old in GOOD_BATCH
    with pytest.raises(ProcedureError, match=message):
        parse_national_lists(GOOD_BATCH.replace(old, new), file="x.yaml")


def test_an_unknown_batch_gets_a_did_you_mean(lists):
    with pytest.raises(UnknownReference, match="did you mean '2024-1'"):
        lists.batch("2024-l")


def test_catalog_national_prints_batches_items_catalog_names_and_what_is_unverified(run_cli):
    code, out, err = run_cli("catalog", "--national")
    assert (code, err) == (0, "")
    for text in ("2024年第一批（国发〔2024〕3号）", "新生儿出生一件事", "是（上海 开办运输企业",
                 "否（原因见表下）", "（12 项名称未取得）", "8†M",
                 "2024-1 2024年第一批未核实：附件清单未能取得"):
        assert text in out
    assert "transport_enterprise" not in out  # names, not ids


def test_catalog_national_speaks_english_on_request_and_gives_json(run_cli):
    code, out, _ = run_cli("catalog", "--national", "--lang", "en")
    assert code == 0 and "Verified" in out and "reason below" in out
    code, out, _ = run_cli("catalog", "--national", "--json")
    assert code == 0
    data = json.loads(out)
    first = data["batches"][0]
    assert code == 0 and first["id"] == "2024-1" and first["count"]["basis"] == "sourced"
    item = next(i for i in first["items"] if i["name"] == "开办运输企业")
    assert (item["catalog"], item["catalog_name"], item["verified"]) == (
        "transport_enterprise", "开办运输企业一件事", True)
    assert next(i for i in first["items"] if i["name"] == "公民身后")["reason"] == first["reason"]


def test_the_national_file_sits_outside_the_catalogs_procedure_files():
    """It is not a procedure: the catalog's ids and ``validate`` of the folder do not see it."""
    assert NATIONAL_LISTS_PATH.parent.name == "lists"
    assert "national" not in catalog_ids()
