"""What can be wrong with a reform scenario, by reason: the English line of each, with
blanks its error's ``values`` fill in.

A scenario file that is not a list of levers, a lever that is unknown or names what the
procedure does not hold, and a lever whose arguments do not fit raise a
:class:`~process_models.errors.ScenarioError` made by :func:`scenario_error`, which
carries its ``reason`` and ``values`` besides the line, so that a page and the CLI say the
same in their reader's language (``api/words_zh_analysis.py`` words each reason as
``error.<reason>``; the English words are these lines).

>>> error = scenario_error("lever_unknown", {"value": "'merg'", "known": "merge, eliminate"},
...                        file="s.yaml", line=3, path="levers[0].lever")
>>> str(error), error.reason
("s.yaml:3: levers[0].lever: unknown lever 'merg'; known: merge, eliminate", 'lever_unknown')
"""

from __future__ import annotations

from typing import Any

from process_models.errors import FieldProblem, OnethingError, ScenarioError, problem_error

__all__ = ["SCENARIO_PROBLEMS", "scenario_error", "scenario_problem"]

SCENARIO_PROBLEMS: dict[str, str] = {
    # the file (simulations.planning.scenario)
    "scenario_not_mapping": "expected a mapping with 'levers:' (a list of lever applications)",
    "lever_missing": "each entry needs 'lever:' naming the lever; known: {known}",
    "lever_unknown": "unknown lever {value}; known: {known}",
    "dependency_arrow": "write a dependency as 'predecessor -> step', got {value}",
    "typed_target_unsourced": "{lever} sets {field} to a typed number; give source: (the "
                              "published commitment of that place for the value), or reach "
                              "the figure with mechanism levers",
    "scenario_other_procedure": "this scenario is for procedure {scenario}, not {procedure}",
    # the levers (simulations.planning.reforms, applicant_levers)
    "lever_no_step": "{lever}: procedure {procedure} has no step {value}",
    "lever_no_material": "{lever}: procedure {procedure} has no material {value}",
    "removes_every_step": "removing {steps} leaves no step; keep at least one",
    "parallelise_no_dependency": "parallelise: step {step} does not depend on {value}",
    "parallelise_legal": "parallelise: {before} → {after} is a legal dependency; the law "
                         "requires this order, so it cannot run in parallel",
    "merge_too_few": "merge: name at least two steps to merge, got {steps}",
    "merge_negative_overhead": "merge: overhead_days must be at least 0, got {value}",
    "merge_not_id": "merge: {value} is not an id; give the joint step an 'id:' of letters, "
                    "digits, '_', '-' or '+' (at most 200)",
    "merge_id_used": "merge: id {value} is already used; choose another id",
    "merge_legal_chain": "merge: cannot merge {steps}: {chain} is a legal chain through a step "
                         "outside the merge, so the joint review would wait for itself; merge "
                         "the steps in between too, or leave them apart",
    "merge_chain": "merge: cannot merge {steps}: {chain} is a chain through a step outside the "
                   "merge, so the joint review would wait for itself; parallelise its practice "
                   "dependency first, or merge the steps in between too",
    "compress_one_of": "compress: give exactly one of factor, to_days, by_days",
    "compress_factor": "compress: factor must be between 0 and 1, got {value}",
    "compress_negative_days": "compress: days must be at least 0",
    "intermediary_unsourced": "intermediary: days marked sourced need days_source (the "
                              "document the {days} days come from)",
    "commitment_material_not_asked": "commitment: material {value} is not asked for by "
                                     "{steps}; a commitment letter replaces only their proofs",
    "commitment_high_risk": "commitment: step {value} ({name}) cannot switch to 告知承诺: "
                            "{source} excludes high-risk items (risk: high)",
    "commitment_not_allowed": "commitment: step {value} ({name}) cannot switch to 告知承诺: "
                              "{source} does not allow it here (commitment_allowed: false)",
    "commitment_model_disallows": "commitment: step {value} ({name}) cannot switch to "
                                  "告知承诺: this model does not allow it here "
                                  "(commitment_allowed: false)",
    "commitment_unmarked": "commitment: step {value} ({name}) is not marked as allowing "
                           "告知承诺 in this model (no source); set commitment_allowed: true "
                           "with the rule that allows it",
}
"""Reason → the English line, ``{name}`` a value of the error's ``values`` (a list is
joined with " or ")."""


def scenario_error(reason: str, values: dict[str, Any] | None = None,
                   **where: Any) -> OnethingError:
    """The :class:`ScenarioError` of ``reason`` with its ``values``, located by ``where``
    (file, line, path, suggestion)."""
    return problem_error(ScenarioError, SCENARIO_PROBLEMS, reason, values, **where)


def scenario_problem(reason: str, values: dict[str, Any] | None = None) -> FieldProblem:
    """What a pydantic validator of a lever's arguments raises for ``reason``."""
    return FieldProblem(SCENARIO_PROBLEMS, reason, values)
