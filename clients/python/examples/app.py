"""A FastAPI backend that accepts keycard credentials, written the way reference 004's is.

    pip install keycard-fastapi uvicorn
    KEYCARD_URL=http://localhost:8080 uvicorn app:app --port 8000
    curl -H "Authorization: Bearer $SESSION_TOKEN" localhost:8000/protected-endpoint

Settings (environment): KEYCARD_URL (default http://localhost:8080); KEYCARD_AUDIENCE,
the audience keycard puts in JWTs for this service (recommended); RECENT_LOGIN_SECONDS,
how recent a login /account/email demands (default 300).
"""

import os

from fastapi import Depends, FastAPI

from keycard_fastapi import Keycard, KeycardUser

keycard = Keycard(
    os.environ.get("KEYCARD_URL", "http://localhost:8080"),
    audience=os.environ.get("KEYCARD_AUDIENCE") or None,
)
recent_login = int(os.environ.get("RECENT_LOGIN_SECONDS", "300"))

app = FastAPI(title="keycard example backend")


@app.get("/protected-endpoint")
async def protected_endpoint(
    current_user: KeycardUser = Depends(keycard.current_user()),
) -> dict[str, str]:
    """Any signed-in user: a keycard JWT or session token."""
    return {"message": f"Hello, {current_user['email']}"}


@app.get("/me")
async def me(user: KeycardUser = Depends(keycard.current_user())) -> dict[str, object]:
    """Who keycard says the caller is, how they proved it and how this service knows."""
    return {
        "sub": user.subject,
        "email": user.email,
        "roles": list(user.roles),
        "session_id": user.session_id,
        "amr": list(user.amr),
        "aal": user.aal,
        "auth_time": user.auth_time.isoformat() if user.auth_time else None,
        "via": user.via,
    }


@app.post("/account/email")
async def change_email(
    user: KeycardUser = Depends(keycard.current_user(max_age=recent_login)),
) -> dict[str, str]:
    """A sensitive change: the person must have proved themselves recently."""
    return {"message": f"{user.email} may change their email address"}


@app.post("/payouts")
async def payouts(user: KeycardUser = Depends(keycard.current_user(aal=2))) -> dict[str, str]:
    """Moving money: only a login with two factors (password and TOTP) will do."""
    return {"message": f"payout approved for {user.email}"}
