"""Every response carries a Content-Security-Policy that refuses inline scripts, and a Permissions-Policy."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def directives(policy: str) -> dict[str, list[str]]:
    parts = (directive.split() for directive in policy.split(";") if directive.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize(
    "path",
    ["/", "/accounts/login/", "/accounts/signup/", "/admin/login/", "/api/prices", "/api/docs", "/nowhere"],
)
def test_every_page_forbids_inline_and_foreign_scripts(client: Client, path: str) -> None:
    response = client.get(path)
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["default-src"]


def test_powerful_browser_features_are_turned_off(client: Client) -> None:
    policy = client.get("/")["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in policy


def test_the_dashboard_has_no_inline_script(client: Client) -> None:
    html = client.get("/").content.decode()
    scripts = html.split("<script")[1:]
    assert scripts
    for script in scripts:
        head = script.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head
