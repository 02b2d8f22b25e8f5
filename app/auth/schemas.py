"""Sign-in shapes of the JSON API."""

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class RedeemInviteRequest(BaseModel):
    code: str = Field(min_length=4, max_length=40)
    password: str = Field(max_length=1024)
    # The clinic's consent statements answered, by key (see its information sheet).
    consents: dict[str, bool] = Field(default_factory=dict, max_length=50)


class Me(BaseModel):
    id: int
    login: str
    role: str
    display_name: str


class SignedIn(Me):
    """The answer to signing in: who, and the token to send as X-CSRF-Token on unsafe calls."""

    csrf_token: str
