"""The applicant as a client or the window's clerk gives it, checked (:class:`ApplicantCreate`).

Its own module, apart from the API's other models (:mod:`api.models` re-exports it), so
``onething case open`` checks an applicant without building every model of the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from process_models.errors import InvalidInput

__all__ = ["EXAMPLE_ID_NUMBER", "ApplicantCreate"]

EXAMPLE_ID_NUMBER = "11010519491231002X"


class ApplicantCreate(BaseModel):
    """Who applies: a person (the ID number checked, GB 11643) or an enterprise (企业名称 as
    ``name``, 统一社会信用代码 as ``id_number``, checked by GB 32100, and the legal
    representative). The one definition of the applicant's field limits, for the API and
    the CLI (:meth:`checked`)."""

    name: str = Field(min_length=1, max_length=200, examples=["张三"])
    id_number: str = Field(max_length=40, examples=[EXAMPLE_ID_NUMBER])
    address: str | None = Field(default=None, max_length=500, examples=["北京市东城区东华门街道"])
    phone: str | None = Field(default=None, max_length=40, examples=["13812345678"])
    kind: Literal["person", "enterprise"] = "person"
    legal_representative: str | None = Field(default=None, max_length=200, examples=["李四"])

    @classmethod
    def checked(cls, path: Callable[[str], str] = str, **fields: Any) -> ApplicantCreate:
        """The applicant from ``fields``, checked as the API checks a request's; the first
        problem is one :class:`~process_models.errors.InvalidInput` naming the field as
        ``path`` spells it (the CLI: its option) and the bad value, truncated.

        >>> ApplicantCreate.checked(lambda f: "--" + f, name="张" * 300, id_number="x")
        Traceback (most recent call last):
        ...
        process_models.errors.InvalidInput: --name: String should have at most 200 characters; got '张张张张张张张张张张张张张张张张张张张张…' (300 characters)
        """
        try:
            return cls(**fields)
        except ValidationError as error:
            problem = error.errors()[0]
            value = problem["input"]
            shown = (f"'{value[:20]}…' ({len(value)} characters)"
                     if isinstance(value, str) and len(value) > 20 else repr(value))
            raise InvalidInput(f"{problem['msg']}; got {shown}",
                               path=path(str(problem["loc"][0]))) from None
