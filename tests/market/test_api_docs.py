"""``/api/docs`` works offline: every asset it loads is served by the exchange itself."""

from __future__ import annotations

import json
import re

from django.test import Client

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_the_docs_page_references_no_other_origin_and_its_assets_are_served() -> None:
    client = Client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assets = ASSET.findall(html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets), html
    assert any(url.endswith("swagger-ui.css") for url in assets), html
    for url in assets:
        assert url.startswith("/"), f"{url} is on another origin"
        assert not url.startswith("//"), f"{url} is on another origin"
        served = client.get(url)
        assert served.status_code == 200, url
        assert b"".join(served.streaming_content if served.streaming else [served.content])
    assert not re.search(r"https?://|//cdn", html)


def test_the_docs_page_runs_no_inline_script_and_points_at_the_schema() -> None:
    html = Client().get("/api/docs").content.decode()
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        if "src=" not in attributes:
            assert 'type="application/json"' in attributes
            docs_settings = json.loads(body)
            assert docs_settings["url"] == "/api/openapi.json"
            # Swagger UI's default would load a badge from validator.swagger.io.
            assert docs_settings["validatorUrl"] is None


def test_the_swagger_ui_package_is_pinned_exactly() -> None:
    from tests.servers import ROOT

    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", wanted)
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert locked["node_modules/swagger-ui-dist"]["version"] == wanted
