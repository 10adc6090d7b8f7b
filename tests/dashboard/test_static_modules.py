"""The dashboard's ES modules as production serves them: collected by ``collectstatic``, served by WhiteNoise.

The browser tests load the modules through the static finders; these tests
load them from ``STATIC_ROOT`` alone, through the configured static storage,
so a module that is not collected, an import that the storage's file names
break, or a MIME type that browsers refuse for modules fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from django.core.management import call_command
from django.test import Client

from tests.servers import ROOT

pytestmark = pytest.mark.django_db

MODULE_SCRIPT = re.compile(r'<script type="module" src="([^"]+)"></script>')
CLASSIC_SCRIPT = re.compile(r'<script src="([^"]+)"></script>')
# Every import in the dashboard's modules is a static `import … from "…";` or `import "…";`.
IMPORT = re.compile(r'^import\s(?:[^;]*?\sfrom\s)?"([^"]+)";', re.MULTILINE)
# Browsers run a module only when it is served with a JavaScript MIME type.
JAVASCRIPT = ("text/javascript", "application/javascript")


@pytest.fixture
def collected(settings: Any, tmp_path: Path) -> Client:
    """A client of a server that serves static files from a fresh ``collectstatic`` only."""
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.WHITENOISE_USE_FINDERS = False
    call_command("collectstatic", "--no-input", verbosity=0)
    return Client()


def fetch_script(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].split(";")[0] in JAVASCRIPT, (url, response["Content-Type"])
    return b"".join(response.streaming_content).decode()


def module_graph(client: Client, entry: str) -> dict[str, list[str]]:
    """Every module the entry imports, directly or not, by URL, with its import specifiers."""
    graph: dict[str, list[str]] = {}
    pending = [entry]
    while pending:
        url = pending.pop()
        if url in graph:
            continue
        graph[url] = IMPORT.findall(fetch_script(client, url))
        pending.extend(urljoin(url, specifier) for specifier in graph[url])
    return graph


def test_it_serves_the_dashboard_s_module_graph_from_the_collected_files(collected: Client) -> None:
    html = collected.get("/").content.decode()
    entries = MODULE_SCRIPT.findall(html)
    assert len(entries) == 1, html
    graph = module_graph(collected, entries[0])
    specifiers = [specifier for imports in graph.values() for specifier in imports]
    # Relative imports resolve against the importing module's own URL, so they
    # hold under any STATIC_URL; a bare or absolute one would not.
    assert specifiers
    assert [s for s in specifiers if not s.startswith(("./", "../"))] == []
    sources = list((ROOT / "static" / "dashboard").rglob("*.js"))
    assert len(graph) == len(sources), "every module in static/dashboard/ is part of the page"


def test_it_serves_the_chart_library_before_the_modules(collected: Client) -> None:
    html = collected.get("/").content.decode()
    library = [src for src in CLASSIC_SCRIPT.findall(html) if "lightweight-charts" in src]
    assert len(library) == 1
    fetch_script(collected, library[0])
    assert html.index(library[0]) < html.index('type="module"')
