"""Logging in (OAuth2 password flow → bearer token), logging out and the current account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, SessionDep
from api.models import ErrorMessage, Token, UserPublic
from api.security import authenticate, create_access_token
from flows.casework.accounts import end_sessions

router = APIRouter(tags=["login"])


@router.post("/login/access-token", responses={
    401: {"model": ErrorMessage, "description": "wrong username or password"},
    429: {"model": ErrorMessage, "description": "too many failed logins for this username "
                                                "from this address, or from this address"},
})
def login_access_token(
    request: Request, session: SessionDep,
    form_data: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Exchange a username and password for a bearer token (OAuth2 password flow)."""
    limiter = request.app.state.login_limiter
    address = request.client.host if request.client else "unknown"
    limiter.check(session, form_data.username, address)
    user = authenticate(session, form_data.username, form_data.password)
    if user is None:
        limiter.failed(session, form_data.username, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    limiter.succeeded(session, form_data.username, address)
    return Token(access_token=create_access_token(
        user.id, epoch=user.session_epoch, secret_key=request.app.state.secret_key))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(user: CurrentUser, session: SessionDep) -> Response:
    """End every bearer token and page session of the account (log in again for a new one)."""
    end_sessions(session, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/me", tags=["users"])
def read_user_me(user: CurrentUser) -> UserPublic:
    """The account the token belongs to: username, role and departments."""
    return UserPublic.model_validate(user)
