"""In a real browser, the Content-Security-Policy stops a script injected into a page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_an_injected_inline_script_does_not_run(page: Page, server: ServerProcess) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    page.goto(server.url + "/")
    ran = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation', () => resolve(window.injected === true));
            const script = document.createElement('script');
            script.textContent = 'window.injected = true;';
            document.body.appendChild(script);
            setTimeout(() => resolve(window.injected === true), 2000);
        })"""
    )
    assert ran is False
    assert any("Content Security Policy" in text for text in violations)


def test_an_injected_event_handler_does_not_run(page: Page, server: ServerProcess) -> None:
    page.goto(server.url + "/accounts/login/")
    ran = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation', () => resolve(window.injected === true));
            const html = '<img src="data:," onerror="window.injected = true">';
            document.body.insertAdjacentHTML('beforeend', html);
            setTimeout(() => resolve(window.injected === true), 2000);
        })"""
    )
    assert ran is False
