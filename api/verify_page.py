"""Certificates anyone can verify: the printable certificate with its QR code (staff) and
the public check ``GET /verify/{number}?code=…`` (no login, rate-limited per client).

The check answers JSON to ``Accept: application/json`` — ``{"status": "valid" | "revoked" |
"unknown", ...}`` — and a page otherwise. It names the certificate, the item and the
department that issued it and when, never the holder: a certificate shows the holder's
name only to whoever holds the paper (:mod:`flows.casework.verification`). The QR code is
made here as SVG (``segno``); nothing is fetched at run time.

>>> limiter = RequestLimiter(requests=2, window_seconds=60, clock=lambda: 100.0)
>>> limiter.allow("10.0.0.1"), limiter.allow("10.0.0.1"), limiter.allow("10.0.0.1")
(True, True, False)
>>> limiter.allow("10.0.0.2")
True
"""

from __future__ import annotations

import io
import time
from collections import OrderedDict, deque
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from api import page_kit, pages
from api.deps import PageUser, SessionDep
from api.i18n import messages
from api.names import display_name
from flows.casework.verification import CertificateCheck, VerificationStatus, verify_certificate
from process_models.errors import CaseNotFound, OnethingError

__all__ = ["VERIFY_REQUESTS", "VERIFY_WINDOW_SECONDS", "RequestLimiter", "qr_svg", "router",
           "verify_url"]

VERIFY_REQUESTS = 30
"""Checks one client may make in :data:`VERIFY_WINDOW_SECONDS` (a bank checking a stack of
certificates stays under it; guessing codes does not)."""
VERIFY_WINDOW_SECONDS = 60.0
_MAX_CLIENTS = 10_000

router = APIRouter(include_in_schema=False)

CertificateNumber = Annotated[str, Path(max_length=60, pattern=r"^[A-Za-z0-9-]+$")]
Code = Annotated[str, Query(max_length=40)]


class RequestLimiter:
    """Requests per client in a sliding window, counted in this process; at most
    :data:`_MAX_CLIENTS` clients are remembered (the longest idle forgotten first)."""

    def __init__(self, requests: int = VERIFY_REQUESTS,
                 window_seconds: float = VERIFY_WINDOW_SECONDS, clock=time.monotonic) -> None:
        self.requests = requests
        self.window_seconds = window_seconds
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, client: str) -> bool:
        """Count one request of ``client``; whether it is within the limit."""
        now = self._clock()
        times = self._seen.pop(client, None) or deque()
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        self._seen[client] = times
        while len(self._seen) > _MAX_CLIENTS:
            self._seen.popitem(last=False)
        if len(times) >= self.requests:
            return False
        times.append(now)
        return True

    def retry_after_seconds(self, client: str) -> int:
        """Whole seconds until ``client`` may ask again."""
        times = self._seen.get(client)
        if not times:
            return 1
        return max(1, int(times[0] + self.window_seconds - self._clock() + 0.999))


def qr_svg(text: str) -> str:
    """``text`` as a QR code, an inline SVG element (error correction M).

    >>> qr_svg("https://example.org/verify/1?code=X").startswith("<svg")
    True
    """
    import segno

    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", scale=4, border=2,
                                                   xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")


def verify_url(request: Request, number: str, code: str) -> str:
    """The public check of certificate ``number`` on this service."""
    return str(request.url_for("read_verification", number=number).include_query_params(
        code=code))


def _answer(session: Session, check: CertificateCheck, language: str) -> dict[str, Any]:
    """What the check tells: status, number and, for a known certificate, its names."""
    from flows import casework

    answer: dict[str, Any] = {"status": str(check.status), "number": check.number}
    if check.status == VerificationStatus.UNKNOWN:
        return answer
    proc = casework.resolve_procedure(check.procedure_id, check.procedure_version,
                                      session=session)
    department = next(d for d in proc.departments if d.id == check.department_id)
    return {**answer, "certificate": check.name, "procedure": display_name(proc, language),
            "step": display_name(proc.step(check.step_id), language),
            "department": display_name(department, language),
            "issued_at": check.issued_at.isoformat() if check.issued_at else None,
            "revoked_at": check.revoked_at.isoformat() if check.revoked_at else None}


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.get("/verify/{number}", name="read_verification")
def read_verification(request: Request, session: SessionDep, number: CertificateNumber,
                      code: Code = "") -> Response:
    """Whether certificate ``number`` with the printed ``code`` is valid, revoked or unknown."""
    language = page_kit.language(request)
    client = request.client.host if request.client else "unknown"
    limiter: RequestLimiter = request.app.state.verify_limiter
    if not limiter.allow(client):
        wait = limiter.retry_after_seconds(client)
        text = messages(language)["verify.too_many"].format(seconds=wait)
        headers = {"Retry-After": str(wait)}
        if _wants_json(request):
            return JSONResponse({"detail": text}, status_code=429, headers=headers)
        response = page_kit.render(request, "error.html", None, status_code=429, message=text)
        response.headers.update(headers)
        return response
    answer = _answer(session, verify_certificate(session, number, code), language)
    if _wants_json(request):
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})
    return page_kit.render(request, "verify.html", None, answer=answer, code=code)


@router.get("/cases/{case_id}/certificates/{number}")
def read_certificate(request: Request, user: PageUser, session: SessionDep, case_id: str,
                     number: CertificateNumber) -> Response:
    """A certificate to print: what it certifies, its number, code and QR code to check it."""
    from api.case_public import visible_case
    from flows import casework

    if refused := page_kit.gate(request, user, "cases:read"):
        return refused
    try:
        case = visible_case(session, user, case_id)
        certificate = next((c for c in case.certificates if c.number == number), None)
        if certificate is None:
            raise CaseNotFound(f"case {case_id} has no certificate {number}; see the case page",
                               path="number")
        proc = casework.resolve_procedure(case.procedure_id, case.procedure_version,
                                          session=session)
    except OnethingError as error:
        return page_kit.error_page(request, user, error)
    url = verify_url(request, number, certificate.verification_code)
    return page_kit.render(request, "certificate.html", user, case=case, certificate=certificate,
                        names=pages.procedure_names(proc, page_kit.language(request)),
                        url=url, qr=qr_svg(url))
