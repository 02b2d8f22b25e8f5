"""Helpers for page tests: parse HTML and find what a person sees, submit forms as a browser."""

from html.parser import HTMLParser

from fastapi.testclient import TestClient
from httpx import Response


class _FieldCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.hidden.setdefault(values["name"] or "", values.get("value") or "")

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def hidden_fields(html: str) -> dict[str, str]:
    """The first value of each hidden form field on the page (CSRF token, log id, ...)."""
    parser = _FieldCollector()
    parser.feed(html)
    return parser.hidden


def visible_text(html: str) -> str:
    """The page's text, whitespace folded, as a person would read it."""
    parser = _FieldCollector()
    parser.feed(html)
    return " ".join(parser.text)


def submit(client: TestClient, page_url: str, action: str, data: dict[str, str]) -> Response:
    """Load a page, then post a form from it with its hidden fields (as a browser would)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(
        action,
        data={**hidden_fields(page.text), **data},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )


def sign_in_through_page(client: TestClient, login: str, password: str) -> Response:
    """Sign in with the HTML form."""
    return submit(client, "/login", "/login", {"login": login, "password": password})


def choose_language(client: TestClient, language: str) -> TestClient:
    """The signed-in patient chooses their language on the Language page, as they would."""
    response = submit(client, "/language", "/language", {"language": language})
    assert response.status_code == 303, response.text
    return client
