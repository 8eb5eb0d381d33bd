"""一次性告知单: every material the applicant brings, once, and the check of what was brought."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from process_models.errors import InvalidInput
from process_models.procedure import Procedure, Provider

__all__ = [
    "NoticeItem",
    "notification_list",
]


@dataclass(frozen=True)
class NoticeItem:
    """One line of the 一次性告知单: a material the applicant brings and the steps needing it."""

    material_id: str
    name: str
    key: bool
    count: int
    steps: tuple[str, ...]

    @property
    def deferrable(self) -> bool:
        """Whether 容缺受理 lets the applicant bring it after acceptance (non-key only)."""
        return not self.key


def notification_list(proc: Procedure) -> list[NoticeItem]:
    """The 一次性告知单: every material the applicant brings, once, with the steps needing it.

    Materials from data sharing (共享) or issued by another step are left out.

    >>> from process_models import parse_procedure
    >>> proc = parse_procedure('''
    ... id: demo
    ... name: 示例
    ... departments: [{id: police, name: 公安}]
    ... materials: [{id: id_card, name: 身份证, provider: 共享}, {id: photo, name: 照片, key: false}]
    ... steps: [{id: card, name: 办证, department: police, committed: {days: 1},
    ...          materials: [id_card, photo]}]
    ... ''')
    >>> [(i.material_id, i.deferrable, i.steps) for i in notification_list(proc)]
    [('photo', True, ('card',))]
    """
    steps_by_material: dict[str, list[str]] = {}
    for step in proc.applicant_steps:
        for material_id in step.materials:
            if proc.material(material_id).provider is Provider.applicant:
                needing = steps_by_material.setdefault(material_id, [])
                if step.id not in needing:
                    needing.append(step.id)
    return [
        NoticeItem(material_id=m.id, name=m.name, key=m.key, count=m.count, steps=tuple(steps))
        for material_id, steps in steps_by_material.items()
        for m in [proc.material(material_id)]
    ]


def check_materials(proc: Procedure, material_ids: Sequence[str], *, path: str) -> list[str]:
    """``material_ids`` if each is a known material the applicant brings, listed once."""
    if isinstance(material_ids, str):
        material_ids = [material_ids]
    notice = {item.material_id for item in notification_list(proc)}
    seen: list[str] = []
    for material_id in material_ids:
        material = proc.material(material_id)
        if material.provider is Provider.data_sharing:
            raise InvalidInput(
                f"material '{material_id}' ({material.name}) comes from data sharing; "
                "the applicant need not bring it", path=path,
            )
        if material.provider is Provider.step:
            raise InvalidInput(
                f"material '{material_id}' ({material.name}) is issued by step "
                f"'{material.from_step}'; the applicant need not bring it", path=path,
            )
        if material_id not in notice:
            raise InvalidInput(
                f"no step of procedure '{proc.id}' needs material '{material_id}'; leave it out",
                path=path,
            )
        if material_id in seen:
            raise InvalidInput(
                f"duplicate submission: material '{material_id}' is listed twice", path=path
            )
        seen.append(material_id)
    return seen
