"""好差评: one rating per case by its applicant; a 差评 is followed up within 15 working days
(call-back, rectification, or an appeal); the report's figures are those counted by hand.
Every rule runs on SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from flows import casework
from flows.casework import ratings
from process_models.catalog import load_catalog_procedure
from process_models.errors import Conflict, InvalidInput

OPENED = datetime(2025, 3, 3, 9, 0)   # a Monday without holidays around it
ID_NUMBER = "11010519491231002X"


def open_case(session: Session, procedure_id: str = "restaurant") -> str:
    proc = load_catalog_procedure(procedure_id)
    materials = [i.material_id for i in casework.notification_list(proc)]
    return casework.open_case(session, proc, casework.Applicant("张三", ID_NUMBER), materials,
                              now=OPENED).id


@pytest.fixture
def case_id(session) -> str:
    return open_case(session)


def test_a_case_is_rated_once_and_a_second_rating_is_a_conflict(session, case_id):
    rating = ratings.rate_case(session, case_id, 5, channel="web", now=OPENED)
    assert (rating.case_id, rating.score, rating.channel) == (case_id, 5, "web")
    with pytest.raises(Conflict, match=f"case {case_id} was rated already"):
        ratings.rate_case(session, case_id, 1, channel="window", now=OPENED)
    assert ratings.rating_report(session, "item").total.ratings == 1


@pytest.mark.parametrize(("score", "channel", "message"), [
    (0, "web", "score 0 is not a level"), (6, "web", "score 6 is not a level"),
    (True, "web", "score True is not a level"), (3, "fax", "channel 'fax' is unknown")])
def test_a_bad_score_or_channel_is_refused_and_nothing_is_recorded(session, case_id, score,
                                                                   channel, message):
    with pytest.raises(InvalidInput, match=message):
        ratings.rate_case(session, case_id, score, channel=channel, now=OPENED)
    assert ratings.rating_report(session, "item").total.ratings == 0


@pytest.mark.parametrize(("score", "follow_up"), [(1, True), (2, True), (3, False), (5, False)])
def test_only_a_bad_rating_opens_a_follow_up_due_in_15_working_days(session, case_id, score,
                                                                   follow_up):
    ratings.rate_case(session, case_id, score, channel="web", now=OPENED)
    lines = ratings.open_follow_ups(session, today=OPENED.date())
    assert [line.due_date for line in lines] == ([date(2025, 3, 24)] if follow_up else [])


def test_the_follow_up_window_is_a_setting(session, case_id):
    ratings.rate_case(session, case_id, 2, channel="web", now=OPENED, follow_up_working_days=5)
    assert ratings.open_follow_ups(session, today=OPENED.date())[0].due_date == date(2025, 3, 10)


def test_a_rectified_bad_rating_leaves_the_open_follow_ups(session, case_id):
    ratings.rate_case(session, case_id, 1, channel="web", comment="等太久", now=OPENED)
    ratings.call_back(session, case_id, note="已电话回访", by="前台", now=OPENED)
    assert ratings.open_follow_ups(session, today=OPENED.date())[0].called_back
    with pytest.raises(Conflict, match="call-back .* was recorded already"):
        ratings.call_back(session, case_id, note="再次回访", by="前台", now=OPENED)
    ratings.rectify(session, case_id, text="增设窗口", by="前台", now=OPENED)
    assert ratings.open_follow_ups(session, today=OPENED.date()) == []
    assert casework.verify_chain(session).ok


def test_an_upheld_appeal_takes_the_bad_rating_out_of_the_indicators(session, case_id):
    ratings.rate_case(session, case_id, 1, channel="web", now=OPENED)
    with pytest.raises(Conflict, match="was not appealed"):
        ratings.decide_appeal(session, case_id, upheld=True, by="管理员", now=OPENED)
    ratings.appeal_rating(session, case_id, reason="申请人评价的是其他事项", by="科员",
                          now=OPENED)
    ratings.decide_appeal(session, case_id, upheld=True, by="管理员", now=OPENED)
    total = ratings.rating_report(session, "item").total
    assert (total.ratings, total.bad, total.appeals_upheld) == (0, 0, 1)
    with pytest.raises(Conflict, match="appealed successfully"):
        ratings.rectify(session, case_id, text="整改", by="前台", now=OPENED)


def test_a_good_rating_has_no_follow_up_to_record(session, case_id):
    ratings.rate_case(session, case_id, 4, channel="web", now=OPENED)
    with pytest.raises(Conflict, match="has no 差评 to follow up"):
        ratings.call_back(session, case_id, note="回访", by="前台", now=OPENED)


def test_the_report_counts_what_was_counted_by_hand(session):
    """Four cases: 5 and 3 on the web for 开办餐饮店, 2 at the window for 开办餐饮店 (rectified
    on time), 1 by SMS for 新生儿出生 (rectified late). By hand: satisfaction 2/4, 差评 2,
    rectified 2/2, on time 1/2."""
    scored = [("restaurant", 5, "web"), ("restaurant", 3, "web"),
              ("restaurant", 2, "window"), ("newborn", 1, "sms")]
    ids = []
    for procedure_id, score, channel in scored:
        case_id = open_case(session, procedure_id)
        ratings.rate_case(session, case_id, score, channel=channel, now=OPENED)
        ids.append(case_id)
    ratings.rectify(session, ids[2], text="整改", by="前台", now=datetime(2025, 3, 20, 9))
    ratings.rectify(session, ids[3], text="整改", by="前台", now=datetime(2025, 3, 25, 9))

    total = ratings.rating_report(session, "item").total
    assert (total.ratings, total.bad, total.rectified, total.rectified_on_time) == (4, 2, 2, 1)
    assert (total.satisfaction_rate, total.rectification_rate,
            total.on_time_rectification_rate) == (0.5, 1.0, 0.5)
    by_item = {line.group: line for line in ratings.rating_report(session, "item").lines}
    assert by_item["restaurant"].by_score == {5: 1, 4: 0, 3: 1, 2: 1, 1: 0}
    assert by_item["newborn"].satisfaction_rate == 0.0
    by_channel = {line.group: line.ratings for line in ratings.rating_report(session, "channel").lines}
    assert by_channel == {"sms": 1, "web": 2, "window": 1}
    assert [(line.group, line.ratings) for line in ratings.rating_report(session, "month").lines] \
        == [("2025-03", 4)]
    departments = {line.group: line.ratings
                   for line in ratings.rating_report(session, "department").lines}
    assert departments["samr"] == 3 and departments["police"] == 1   # once per case


def test_an_empty_report_has_no_rates_rather_than_zero(session):
    total = ratings.rating_report(session, "channel").total
    assert (total.ratings, total.satisfaction_rate, total.rectification_rate) == (0, None, None)


@given(st.lists(st.sampled_from(ratings.SCORES), min_size=1, max_size=40))
def test_the_satisfaction_rate_is_the_share_of_levels_three_to_five(scores):
    figures = ratings.RatingFigures(
        "x", len(scores), {s: scores.count(s) for s in ratings.SCORES},
        sum(1 for s in scores if s in ratings.BAD_SCORES), 0, 0, 0)
    assert figures.satisfaction_rate == sum(1 for s in scores if s >= 3) / len(scores)
