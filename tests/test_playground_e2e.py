"""The playground in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Open the page, choose XOR with one hidden layer of 4 tanh units, press play, wait
until the test loss is under 0.1, check the boundary image changed, export the code
and run it in a subprocess: it must reach the same test loss the page shows.
Skipped, with the reason, only when the browser or Playwright is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; "
                                                ".ci/run installs it)"),
    pytest.mark.cpu_only(reason="the server process trains on the CPU"),
]
pytest.importorskip("starlette", reason="the playground extra (starlette) is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="the dev extra's playwright is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_and_browser():
    """The server (its own process, started first so that it imports while the browser starts) and Chromium."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "neurona", "playground", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(600):
                if proc.poll() is not None:
                    pytest.fail(f"neurona playground exited with {proc.returncode}: {proc.stdout.read()}")
                try:
                    urllib.request.urlopen(url + "api/options", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail("neurona playground did not answer within 60 s")
            yield url, browser
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _boundary(page) -> str:
    return page.evaluate("document.getElementById('output').toDataURL()")


def test_xor_learns_in_the_browser_and_the_exported_code_trains(server_and_browser, tmp_path):
    server, browser = server_and_browser
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="en-US")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    page.wait_for_function("document.getElementById('epoch').textContent === '0'")
    page.click("#dataset-xor")
    page.wait_for_selector("#dataset-xor.on")
    assert page.text_content("#layer-count") == "2 hidden layers"  # the default network: 4 and 2 units
    page.click("#remove-layer")
    page.wait_for_function("document.getElementById('layer-count').textContent === '1 hidden layer'")
    page.fill("input.units[data-layer='0']", "4")
    page.press("input.units[data-layer='0']", "Enter")
    page.select_option("#activation", "tanh")
    page.wait_for_function("document.querySelectorAll('input.units').length === 1 && "
                           "document.querySelector('input.units').value === '4'")
    assert page.input_value("#activation") == "tanh" and page.text_content("#epoch") == "0"
    before = _boundary(page)

    page.click("#play")
    page.wait_for_function("parseFloat(document.getElementById('test-loss').textContent) < 0.1", timeout=60_000)
    page.click("#play")  # pause
    page.wait_for_selector("#play:not(.playing)")
    page.wait_for_timeout(300)  # frames already on their way
    epochs = int(page.text_content("#epoch").replace(",", ""))
    page_loss = float(page.text_content("#test-loss"))
    assert epochs > 0 and page_loss < 0.1
    assert _boundary(page) != before
    page.screenshot(path=str(tmp_path / "playground.png"))
    if os.environ.get("NEURONA_PLAYGROUND_SHOTS"):  # keep the screenshot, e.g. for the docs
        shutil.copy(tmp_path / "playground.png", Path(os.environ["NEURONA_PLAYGROUND_SHOTS"]) / "playground.png")

    page.click("#export")
    page.wait_for_selector("#code-dialog[open]")
    code = page.text_content("#code")
    assert "nn.Dense(4, activation='tanh')" in code and f"EPOCHS = {epochs}" in code
    script = tmp_path / "exported.py"
    script.write_text(code)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    found = re.search(r"after (\d+) epochs: train loss ([\d.]+), test loss ([\d.]+)", run.stdout)
    assert found, run.stdout
    assert int(found[1]) == epochs
    assert float(found[3]) == pytest.approx(page_loss, abs=1.5e-3)  # the same run, reproduced
    page.click("#code-close")

    page.fill("#lr", "-1")
    page.press("#lr", "Enter")
    page.wait_for_selector("#message:not([hidden])")
    assert "learning rate must be a number > 0" in page.text_content("#message")
    assert page.input_value("#lr") == "0.03"  # the rejected value is undone
    page.click("#lang")  # the labels in Spanish, the course's language
    assert page.text_content("#layer-count") == "1 capa oculta"
    assert page.text_content("#test-loss-label") == "Pérdida de test"
    page.click("#lang")
    assert page.text_content("#layer-count") == "1 hidden layer"
    assert errors == []
    page.close()
