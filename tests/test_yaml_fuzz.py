"""Generated malformed YAML: the procedure loader raises only OnethingError, in bounded time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from process_models.errors import OnethingError
from process_models.loading import parse_procedure
from process_models.procedure import Procedure
from tests.strategies import malformed_yaml


@pytest.mark.slow  # 150 generated files: seconds on its own
@settings(max_examples=150, deadline=2000)
@given(text=malformed_yaml())
def test_the_procedure_loader_raises_only_onething_errors_of_one_line(text):
    """Whatever arrives, the answer is a procedure or one located line (never a traceback)."""
    try:
        assert isinstance(parse_procedure(text, file="fuzz.yaml"), Procedure)
    except OnethingError as e:
        assert "\n" not in str(e) and len(str(e)) < 1000
