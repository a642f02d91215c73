"""Accept keycard credentials in a FastAPI backend.

    keycard = Keycard("http://keycard:8080", audience="orders")

    @app.get("/orders")
    async def orders(current_user: KeycardUser = Depends(keycard.current_user())):
        return {"email": current_user["email"]}
"""

from .client import Keycard
from .errors import KeycardError, KeycardUnavailable, NotAuthenticated, StepUpRequired
from .user import KeycardUser

__all__ = [
    "Keycard",
    "KeycardError",
    "KeycardUnavailable",
    "KeycardUser",
    "NotAuthenticated",
    "StepUpRequired",
]
