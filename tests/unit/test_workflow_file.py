"""The workflow file: the shipped example is valid and renders against real provider payloads;
bad files are rejected at start-up with the line and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.actions.email import EmailConfig
from app.cli import main
from app.settings import Settings, SettingsError
from domain.workflows.templates import render

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "events"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

GOOD = """\
[workflow.welcome]
provider = "lemonsqueezy"
event = "order_created"
action = "email"
to = "${data.attributes.user_email}"
subject = "Welcome"
body = "Hello"
"""


def load(tmp_path: Path, text: str, **env: str) -> Settings:
    path = tmp_path / "workflows.toml"
    path.write_text(text)
    return Settings.from_env({"WORKFLOWS_FILE": str(path), **env})


def rejected(tmp_path: Path, text: str, **env: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load(tmp_path, text, **env)
    message = str(caught.value)
    assert message.startswith(f"WORKFLOWS_FILE {tmp_path / 'workflows.toml'}: ")
    return message.split(": ", 1)[1]


def test_the_shipped_example_is_valid_and_renders_against_real_payloads() -> None:
    settings = Settings.from_env(
        {"WORKFLOWS_FILE": str(ROOT / "workflows.example.toml"), "ACTIVATE_WEBHOOK_SECRET": SECRET}
    )
    assert settings.workflows is not None
    by_trigger = {(w.provider, w.event, w.action) for w in settings.workflows.workflows}
    assert by_trigger == {
        ("stripe", "invoice.paid", "forward"),
        ("stripe", "invoice.paid", "email"),
        ("stripe", "invoice.payment_failed", "email"),
        ("lemonsqueezy", "order_created", "email"),
        ("framerauth", "user.created", "email"),
    }
    fixtures = {
        ("stripe", "invoice.paid"): "stripe/invoice_paid_2024.json",
        ("stripe", "invoice.payment_failed"): "stripe/invoice_payment_failed_basil.json",
        ("lemonsqueezy", "order_created"): "lemonsqueezy/order_created.json",
        ("framerauth", "user.created"): "framerauth/user_created.json",
    }
    for workflow in settings.workflows.workflows:
        raw = (FIXTURES / fixtures[(workflow.provider, workflow.event)]).read_bytes()
        assert settings.workflows.reactions(workflow.provider, workflow.event, raw).count(workflow)
        if isinstance(workflow.config, EmailConfig):
            body = json.loads(raw)
            assert "@" in render(workflow.config.to, body)
            assert render(workflow.config.subject, body)
            assert render(workflow.config.body, body)
    assert settings.workflow_secrets["ACTIVATE_WEBHOOK_SECRET"].values == (SECRET,)
    assert SECRET not in repr(settings)


def test_conditions_select_events(tmp_path: Path) -> None:
    settings = load(tmp_path, GOOD + "when = 'data.attributes.status = \"paid\"'\n")
    assert settings.workflows is not None
    paid = b'{"data": {"attributes": {"status": "paid"}}}'
    pending = b'{"data": {"attributes": {"status": "pending"}}}'
    assert [w.name for w in settings.workflows.reactions("lemonsqueezy", "order_created", paid)]
    assert not settings.workflows.reactions("lemonsqueezy", "order_created", pending)
    assert not settings.workflows.reactions("lemonsqueezy", "order_refunded", paid)
    assert not settings.workflows.reactions("stripe", "order_created", paid)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace('action = "email"', 'action = "sms"'),
            "line 4: workflow 'welcome': unknown action type 'sms' (known: email, forward)",
        ),
        (
            GOOD.replace('subject = "Welcome"\n', ""),
            "line 1: workflow 'welcome': missing field `subject`"
            " (the email action needs to, subject, body)",
        ),
        (
            GOOD.replace('provider = "lemonsqueezy"\n', ""),
            "line 1: workflow 'welcome': missing field `provider`",
        ),
        (
            GOOD + "when = ['data.attributes.status = \"paid\"',\n  'data.attributes.total > 5']\n",
            "line 9: workflow 'welcome': `when`: condition 'data.attributes.total > 5' must look"
            ' like PATH = VALUE or PATH != VALUE, e.g. data.object.mode = "subscription"',
        ),
        (
            GOOD + "when = 'data.attributes.status = paid'\n",
            "line 8: workflow 'welcome': `when`: condition 'data.attributes.status = paid':"
            " the value 'paid' is not a JSON literal (quote strings: \"paid\")",
        ),
        (
            GOOD.replace('subject = "Welcome"', 'subject = "Welcome'),
            "line 6: invalid TOML (column 19): Illegal character '\\n'",
        ),
        (
            GOOD.replace('provider = "lemonsqueezy"', 'provider = "lemonsqeezy"'),
            "line 2: workflow 'welcome': unknown provider 'lemonsqeezy'"
            " (known: framerauth, lemonsqueezy, slack, stripe)",
        ),
        (
            GOOD.replace('subject = "Welcome"', 'subject = "Welcome, $name"'),
            "line 6: workflow 'welcome': `subject`: template 'Welcome, $name' has a $ that is"
            " not ${field.path}: write $$ for a literal $",
        ),
        (
            GOOD.replace('subject = "Welcome"', "subject = 42"),
            "line 6: workflow 'welcome': `subject`: Expected `str`, got `int`",
        ),
        (
            GOOD + 'cc = "x@example.com"\n',
            "line 8: workflow 'welcome': unknown field `cc` for the email action"
            " (fields: provider, event, when, action, to, subject, body)",
        ),
        (
            "[[workflow]]\nname = 'x'\n",
            "line 1: workflows are [workflow.NAME] tables, not [[workflow]]",
        ),
        (
            "[workflows.x]\nprovider = 'stripe'\n",
            "line 1: unknown top-level key 'workflows': workflows are [workflow.NAME] tables",
        ),
        (
            GOOD + '\n[workflow."has space"]\naction = "email"\n',
            "line 9: workflow 'has space': a workflow name is 1-64 letters, digits, _ or -",
        ),
    ],
)
def test_bad_files_are_rejected_with_line_and_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert rejected(tmp_path, text) == expected


FORWARD = """\
# forward paid invoices
[workflow.activate]
provider = "stripe"
event = "invoice.paid"
action = "forward"
url = "http://127.0.0.1:9000/hook"
secret_env = "ACTIVATE_SECRET"
"""


def test_secret_env_must_name_a_set_variable(tmp_path: Path) -> None:
    assert rejected(tmp_path, FORWARD) == (
        "line 7: workflow 'activate': `secret_env` names the environment variable"
        " ACTIVATE_SECRET, which is not set"
    )
    assert rejected(tmp_path, FORWARD, ACTIVATE_SECRET="whsec_???") == (
        "line 7: workflow 'activate': ACTIVATE_SECRET (secret #0): not a Standard Webhooks"
        " secret (whsec_ followed by base64)"
    )
    settings = load(tmp_path, FORWARD, ACTIVATE_SECRET=f" {SECRET} , whsec_QUJD ")
    assert settings.workflow_secrets["ACTIVATE_SECRET"].values == (SECRET, "whsec_QUJD")


def test_secrets_never_go_in_the_file(tmp_path: Path) -> None:
    literal = FORWARD.replace('secret_env = "ACTIVATE_SECRET"', f'secret = "{SECRET}"')
    message = rejected(tmp_path, literal)
    assert message.startswith("line 7: workflow 'activate': unknown field `secret`")
    assert "secrets never go in this file" in message
    assert SECRET not in message
    value = FORWARD.replace('"ACTIVATE_SECRET"', f'"{SECRET}"')
    assert rejected(tmp_path, value).startswith(
        "line 7: workflow 'activate': `secret_env` must name an environment variable"
    )


def test_forward_urls_are_checked(tmp_path: Path) -> None:
    text = FORWARD.replace("http://127.0.0.1:9000/hook", "127.0.0.1:9000/hook")
    assert rejected(tmp_path, text, ACTIVATE_SECRET=SECRET) == (
        "line 6: workflow 'activate': `url`: '127.0.0.1:9000/hook' is not an http:// or"
        " https:// URL"
    )


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"WORKFLOWS_FILE .*missing.toml: No such file"):
        Settings.from_env({"WORKFLOWS_FILE": str(tmp_path / "missing.toml")})


def test_the_command_refuses_to_start_on_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "workflows.toml"
    path.write_text(GOOD.replace('action = "email"', 'action = "sms"'))
    monkeypatch.setenv("WORKFLOWS_FILE", str(path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"hookledger: configuration error: WORKFLOWS_FILE {path}: line 4: workflow 'welcome':"
        " unknown action type 'sms' (known: email, forward)\n"
    )


def test_smtp_settings(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SMTP_FROM"):
        Settings.from_env({"SMTP_HOST": "127.0.0.1"})
    with pytest.raises(SettingsError, match="SMTP_STARTTLS must be true or false"):
        Settings.from_env({"SMTP_STARTTLS": "maybe"})
    s = Settings.from_env(
        {
            "SMTP_HOST": "mail.example.com",
            "SMTP_FROM": "Shop <shop@example.com>",
            "SMTP_PASSWORD": "hunter2",
            "SMTP_STARTTLS": "yes",
        }
    )
    assert (s.smtp_port, s.smtp_starttls, s.outbox_max_attempts) == (587, True, 8)
    assert "hunter2" not in repr(s)
