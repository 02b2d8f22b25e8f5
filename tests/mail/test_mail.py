"""Staff email over SMTP with STARTTLS, against a real SMTP server started by the test."""

from pathlib import Path

import pytest

from app import mail
from app.config import Settings
from tests.mail_server import SmtpTestServer


def _settings(tmp_path: Path, **smtp: object) -> Settings:
    return Settings(environment="test", data_dir=tmp_path, **smtp)  # type: ignore[arg-type]


def test_an_email_arrives_over_starttls_with_login(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(tmp_path, smtp_url=smtp_server.url, smtp_ca_file=smtp_server.ca_file)
    mail.send_email(
        settings,
        to=["a@clinic.example", "b@clinic.example"],
        subject="Tend: please look",
        body="Open Tend.",
    )
    received = smtp_server.wait_for(2)
    assert [m.recipients for m in received] == [["a@clinic.example"], ["b@clinic.example"]]
    assert received[0].sender == "tend@clinic.example"
    assert received[0].email["Subject"] == "Tend: please look"
    assert received[0].body.strip() == "Open Tend."


def test_nothing_is_sent_without_an_smtp_url(tmp_path: Path) -> None:
    mail.send_email(_settings(tmp_path), to=["a@clinic.example"], subject="s", body="b")


def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = _settings(tmp_path, smtp_url=smtp_server.url)  # the test CA is not trusted
    with pytest.raises(mail.MailError) as refused:
        mail.send_email(settings, to=["a@clinic.example"], subject="s", body="b")
    assert "pass" not in str(refused.value)
    assert smtp_server.messages == []


def test_a_wrong_password_is_an_error_that_does_not_repeat_it(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    url = smtp_server.url.replace("s3cret", "wrong")
    settings = _settings(tmp_path, smtp_url=url, smtp_ca_file=smtp_server.ca_file)
    with pytest.raises(mail.MailError) as refused:
        mail.send_email(settings, to=["a@clinic.example"], subject="s", body="b")
    assert "wrong" not in str(refused.value)
    assert smtp_server.messages == []


def test_a_url_that_is_not_smtp_is_refused() -> None:
    with pytest.raises(mail.MailError):
        mail.parse_smtp_url("http://host:587")
