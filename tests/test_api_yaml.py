"""YAML the loader refuses is a 422 naming file, line and field on every route that reads
YAML, never a 500, and nothing is stored."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings

from tests.api_fixtures import small_procedure_yaml
from tests.strategies import alias_bomb, malformed_yaml

SHOP = small_procedure_yaml("yaml_shop")

BAD = [
    pytest.param(SHOP.replace('version: "1"', "effective_date: 2025-02-30"),
                 r"upload.yaml:3: effective_date: '2025-02-30' is not a valid date", id="bad-date"),
    pytest.param(SHOP.replace('version: "1"', 'note: !!int "abc"'),
                 r"upload.yaml:3: note: 'abc' is not a valid whole number", id="bad-int-tag"),
    pytest.param(SHOP.replace('version: "1"', 'note: !!float "x"'),
                 r"upload.yaml:3: note: 'x' is not a valid number", id="bad-float-tag"),
    pytest.param(SHOP.replace('version: "1"', "name: 又一个"),
                 r"upload.yaml:3: name: duplicate key 'name' \(first on line 2\)", id="duplicate-key"),
    pytest.param(alias_bomb(7), r"upload.yaml:2: a1\[0\]: aliases \(\*name\) are not allowed",
                 id="alias-bomb"),
    pytest.param(SHOP.replace("days: 3", "days: 1.0e+308"),
                 r"upload.yaml:7: steps\[0\].committed.days: must be at most 3650", id="huge-days"),
]


@pytest.mark.parametrize("text, message", BAD)
@pytest.mark.parametrize("route, role", [("/api/procedures/validate", "front_desk"),
                                         ("/api/procedures", "planner")])
def test_refused_yaml_is_a_located_422_and_stores_nothing(client, auth, route, role, text,
                                                          message):
    """Validating or uploading bad YAML answers 422 with the loader's one line."""
    answer = client.post(route, content=text.encode(), headers=auth[role])
    assert answer.status_code == 422
    assert re.match(message, answer.json()["detail"])
    ids = [p["id"] for p in client.get("/api/procedures", headers=auth["planner"]).json()]
    assert "yaml_shop" not in ids


@pytest.mark.parametrize("scenario, message", [
    ("levers: [{lever: online}]\nnote: 2025-02-30\n",
     r"scenario.yaml:2: note: '2025-02-30' is not a valid date"),
    ("levers: [{lever: online}]\nnote: !!int x\n", r"scenario.yaml:2: note: 'x' is not a valid"),
    (alias_bomb(7).replace("steps:", "levers:"), r"scenario.yaml:2: a1\[0\]: aliases"),
])
def test_a_refused_scenario_is_a_located_422(client, auth, scenario, message):
    answer = client.post("/api/simulations/reform", headers=auth["planner"],
                         json={"procedure_id": "newborn", "scenario": scenario})
    assert answer.status_code == 422
    assert re.match(message, answer.json()["detail"])


@settings(max_examples=40, deadline=2000,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=malformed_yaml())
def test_generated_malformed_yaml_never_gives_a_server_error(client, auth, text):
    """Random bytes, truncated documents, aliases, deep nesting, huge numbers, bad tags and
    dates, duplicate keys: the validate route answers 200, 422 with one line, or 413 past the
    body limit, in bounded time."""
    answer = client.post("/api/procedures/validate", content=text.encode("utf-8", "replace"),
                         headers=auth["front_desk"])
    assert answer.status_code in (200, 413, 422), answer.text
    if answer.status_code == 422:
        assert "\n" not in answer.json()["detail"]
