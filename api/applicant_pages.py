"""The applicant's own pages (mobile first, 390 px wide): log in with an ID number (or
统一社会信用代码) and an SMS code, apply for a bundle as a person or an enterprise, the
一次性告知单 with its QR code, upload materials (补正, 容缺), follow the case, see and download
the certificates, and rate the service (好差评).

The applicant's page session is its own (:mod:`api.applicant_auth`), apart from staff
logins; every case page first checks that the case was opened under the session's number
(:func:`api.applicant_auth.own_case`): another's case answers as a missing one. Forms carry
the session's CSRF token. Cases open through :mod:`api.case_runner`, as at the window;
files go through :mod:`flows.casework.material_files`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from api import page_kit
from api.applicant_auth import applicant_of_session, login_applicant, logout_applicant, own_case
from api.case_public import local_today
from api.deps import EngineDep, SessionDep
from api.i18n import messages
from api.names import display_name
from api.pages import notice_of, one_line, procedure_names
from api.security import check_csrf
from api.verify_page import qr_svg, verify_url
from flows.casework import ratings
from flows.casework.applicant_login import request_code, subject_of, verify_code
from flows.casework.identity import mask_id_number
from flows.casework.material_files import (
    UPLOAD_MAX_BYTES,
    check_file,
    material_files,
    read_material_file,
    store_material_file,
)
from flows.casework.tables import Case, Rating, RatingFollowUp, SubmissionStatus
from flows.casework.views import case_board, case_view
from process_models.errors import Forbidden, InvalidInput, OnethingError

__all__ = ["router"]

router = APIRouter(prefix="/applicant", include_in_schema=False)

_PENDING = "applicant_pending"


def _applicant(request: Request) -> str:
    """The number of the applicant's page session; without one, off to the login form."""
    subject = applicant_of_session(request)
    if subject is None:
        raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/applicant"})
    return subject


ApplicantSubject = Annotated[str, Depends(_applicant)]


def _now() -> datetime:
    return datetime.now(UTC)


def _strings(request: Request) -> dict[str, str]:
    return messages(page_kit.language(request))


def _checked(request: Request, csrf_token: str) -> None:
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        raise Forbidden(_strings(request)["error.csrf"]) from None


# --- logging in ---------------------------------------------------------------------------------


@router.get("")
def read_applicant_home(request: Request, session: SessionDep) -> Response:
    """The applicant's cases and the bundles to apply for; the login form without a session."""
    subject = applicant_of_session(request)
    language = page_kit.language(request)
    if subject is None:
        return page_kit.render(request, "applicant_login.html", None,
                      pending=mask_id_number(request.session.get(_PENDING, "")) or None)
    mine = select(Case.id).where(Case.applicant_id_number == subject)
    board = case_board(session, today=local_today(), include_closed=True, case_ids=mine)
    names = {p.id: display_name(p, language) for p in page_kit.catalog_procedures()}
    return page_kit.render(request, "applicant_home.html", None, subject=mask_id_number(subject),
                  cases=board.lines, names=names, procedures=sorted(names.items()))


@router.post("/code")
def send_code(request: Request, session: SessionDep,
              id_number: Annotated[str, Form(max_length=40)] = "",
              phone: Annotated[str, Form(max_length=20)] = "",
              csrf_token: Annotated[str, Form()] = "") -> Response:
    """Send a one-time code to the phone; the next form asks for it."""
    try:
        _checked(request, csrf_token)
        request_code(session, id_number, phone, sender=request.app.state.sms_sender,
                     now=_now())
    except OnethingError as error:
        return page_kit.back(request, "/applicant", "error", str(error))
    request.session[_PENDING] = subject_of(id_number)
    return page_kit.back(request, "/applicant", "ok", _strings(request)["applicant.code_sent"])


@router.post("/login")
def log_in(request: Request, session: SessionDep,
           code: Annotated[str, Form(max_length=10)] = "",
           csrf_token: Annotated[str, Form()] = "") -> Response:
    """Check the code sent for the pending number; the applicant's session begins."""
    try:
        _checked(request, csrf_token)
        subject = verify_code(session, request.session.get(_PENDING, ""), code, now=_now())
    except OnethingError as error:
        return page_kit.back(request, "/applicant", "error", str(error))
    login_applicant(request, subject)
    return RedirectResponse("/applicant", status_code=303)


@router.post("/logout")
def log_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the applicant's session."""
    logout_applicant(request)
    return RedirectResponse("/applicant", status_code=303)


# --- the 告知单 and applying ----------------------------------------------------------------------


@router.get("/notice/{procedure_id}")
def read_applicant_notice(request: Request, session: SessionDep, procedure_id: str) -> Response:
    """The 一次性告知单 of a bundle, with the QR code leading back to it (public)."""
    try:
        proc, notice, names = notice_of(session, procedure_id, page_kit.language(request))
    except OnethingError as error:
        return page_kit.error_page(request, None, error)
    url = str(request.url_for("read_applicant_notice", procedure_id=proc.id))
    return page_kit.render(request, "applicant_notice.html", None, proc=proc, notice=notice,
                  names=names, qr=qr_svg(url), today=local_today())


@router.get("/apply/{procedure_id}")
def read_apply(request: Request, subject: ApplicantSubject,
               session: SessionDep, procedure_id: str) -> Response:
    """The application form: who applies, and a file for each material of the 告知单."""
    try:
        proc, notice, names = notice_of(session, procedure_id, page_kit.language(request))
    except OnethingError as error:
        return page_kit.error_page(request, None, error)
    return page_kit.render(request, "applicant_apply.html", None, proc=proc, notice=notice,
                  names=names, enterprise=_is_credit_code(subject),
                  subject=mask_id_number(subject), max_bytes=UPLOAD_MAX_BYTES)


def _is_credit_code(subject: str) -> bool:
    """Whether the session's number is an enterprise's (not an ID number)."""
    from flows.casework.identity import is_valid_id_number

    return not is_valid_id_number(subject)


@router.post("/apply/{procedure_id}")
async def apply(request: Request, subject: ApplicantSubject,
                engine: EngineDep, procedure_id: str) -> Response:
    """Open the case as at the window, the uploaded files as the materials brought."""
    from api.applicant import ApplicantCreate

    form = await request.form()
    back = f"/applicant/apply/{procedure_id}"
    uploads = {key.removeprefix("file_"): value for key, value in form.multi_items()
               if key.startswith("file_") and isinstance(value, UploadFile) and value.filename}
    try:
        _checked(request, str(form.get("csrf_token", "")))
        try:
            applicant = ApplicantCreate(
                name=str(form.get("name", "")), id_number=subject,
                phone=str(form.get("phone", "")) or None,
                address=str(form.get("address", "")) or None,
                kind="enterprise" if _is_credit_code(subject) else "person",
                legal_representative=str(form.get("legal_representative", "")) or None)
        except ValidationError as e:
            raise one_line(e) from None
        files = {material: (upload.filename or "file", await upload.read())
                 for material, upload in uploads.items()}
        for name, data in files.values():
            check_file(data, name=name)   # before the case opens
        case_id = await run_in_threadpool(_open_with_files, engine, procedure_id,
                                          applicant.model_dump(), files)
    except OnethingError as error:
        return page_kit.back(request, back, "error", str(error))
    return page_kit.back(request, f"/applicant/cases/{case_id}", "ok",
                 _strings(request)["applicant.applied"])


def _open_with_files(engine, procedure_id: str, applicant: dict,
                     files: dict[str, tuple[str, bytes]]) -> str:
    """Open the case as at the window with the uploaded materials as brought, then keep
    each file."""
    from api import case_runner
    from flows.casework import window_procedure
    from flows.casework.notice import check_materials
    from process_models.settings import settings

    with Session(engine) as session:
        check_materials(window_procedure(procedure_id, session=session), list(files),
                        path="file")
    case_id = case_runner.open_case(engine, procedure_id, applicant, list(files))
    with Session(engine) as session:
        for material, (name, data) in files.items():
            store_material_file(session, case_id, material, name=name, data=data,
                                data_dir=settings.data_dir, now=_now(), submit=False)
    return case_id


def _upload(session: Session, case_id: str, material_id: str, name: str,
            data: bytes) -> None:
    from process_models.settings import settings

    store_material_file(session, case_id, material_id, name=name, data=data,
                        data_dir=settings.data_dir, now=_now())


def _upload_own(engine, subject: str, case_id: str, material_id: str, name: str,
                data: bytes) -> None:
    with Session(engine) as session:
        own_case(session, subject, case_id)
        _upload(session, case_id, material_id, name, data)


# --- the applicant's case -------------------------------------------------------------------------


@router.get("/cases/{case_id}")
def read_applicant_case(request: Request, subject: ApplicantSubject,
                        session: SessionDep, case_id: str) -> Response:
    """Progress, materials still needed (with upload), certificates and the rating."""
    try:
        own_case(session, subject, case_id)
        view = case_view(session, case_id, today=local_today())
        from flows.casework import resolve_procedure

        proc = resolve_procedure(view.procedure_id, view.procedure_version, session=session)
    except OnethingError as error:
        return page_kit.error_page(request, None, error)
    rating = session.exec(select(Rating).where(Rating.case_id == case_id)).first()
    follow_up = session.exec(select(RatingFollowUp)
                             .where(RatingFollowUp.case_id == case_id)).first()
    needed = [m for m in view.materials if m.status != SubmissionStatus.RECEIVED]
    return page_kit.render(request, "applicant_case.html", None, case=view,
                  names=procedure_names(proc, page_kit.language(request)), needed=needed,
                  files=material_files(session, case_id), rating=rating, follow_up=follow_up,
                  scores=ratings.SCORES, bad_scores=ratings.BAD_SCORES,
                  max_bytes=UPLOAD_MAX_BYTES)


@router.post("/cases/{case_id}/materials/{material_id}")
async def upload_material(request: Request, subject: ApplicantSubject,
                          engine: EngineDep, case_id: str,
                          material_id: str) -> Response:
    """Upload a material the case still needs (补正 or 容缺)."""
    form = await request.form()
    upload = form.get("file")
    back = f"/applicant/cases/{case_id}"
    try:
        _checked(request, str(form.get("csrf_token", "")))
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("no file chosen; choose the scan or photo of the material",
                               path="file")
        data = await upload.read()
        await run_in_threadpool(_upload_own, engine, subject, case_id, material_id,
                                upload.filename, data)
    except OnethingError as error:
        return page_kit.back(request, back, "error", str(error))
    return page_kit.back(request, back, "ok", _strings(request)["applicant.uploaded"])


@router.get("/cases/{case_id}/files/{file_id}")
def download_file(request: Request, subject: ApplicantSubject,
                  session: SessionDep, case_id: str, file_id: int) -> Response:
    """One of the applicant's own uploaded files."""
    from process_models.settings import settings

    try:
        own_case(session, subject, case_id)
        row, data = read_material_file(session, case_id, file_id, data_dir=settings.data_dir)
    except OnethingError as error:
        return page_kit.error_page(request, None, error)
    return Response(data, media_type=row.content_type, headers={
        "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"})


@router.get("/cases/{case_id}/certificates/{number}")
def read_certificate(request: Request, subject: ApplicantSubject,
                     session: SessionDep, case_id: str, number: str,
                     download: bool = False) -> Response:
    """A certificate of the applicant's case, printable, with its 核验码 and the QR code of
    its public check; ``?download=1`` saves it."""
    try:
        case = own_case(session, subject, case_id)
        view = case_view(session, case_id, today=local_today())
        certificate = next((c for c in view.certificates if c.number == number), None)
        if certificate is None:
            raise InvalidInput(f"no certificate '{number}' in case {case_id}", path="number")
    except OnethingError as error:
        return page_kit.error_page(request, None, error)
    url = verify_url(request, number, certificate.verification_code)
    response = page_kit.render(request, "applicant_certificate.html", None, case=case,
                      certificate=certificate, url=url, qr=qr_svg(url))
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{number}.html"'
    return response


@router.post("/cases/{case_id}/rating")
def rate(request: Request, subject: ApplicantSubject,
         session: SessionDep, case_id: str,
         score: Annotated[str, Form(max_length=2)] = "",
         comment: Annotated[str, Form(max_length=500)] = "",
         csrf_token: Annotated[str, Form()] = "") -> Response:
    """好差评 from the applicant's page (channel 移动端/网上: ``web``)."""
    back = f"/applicant/cases/{case_id}"
    try:
        _checked(request, csrf_token)
        own_case(session, subject, case_id)
        ratings.rate_case(session, case_id, int(score) if score.isdigit() else 0,
                          channel="web", comment=comment or None, now=_now())
    except OnethingError as error:
        return page_kit.back(request, back, "error", str(error))
    return page_kit.back(request, back, "ok", _strings(request)["applicant.rated"])
