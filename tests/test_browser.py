"""The page of animate_backward in a real browser (headless Chromium driven by selenium).

Step, Back, Reset and Play are clicked; after each click the highlighted node and the
panel must match ``backward_steps(root)[k-1]``; the page must make no network request.
A screenshot goes to out/ (kept by CI). Skipped where selenium, Chromium, chromedriver
or graphviz's `dot` is missing (Debian: apt-get install chromium chromium-driver
graphviz; pip install selenium).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
from autograd import Scalar, Tensor
from autograd.stepper import animate_backward
from autograd.viz import COLOURS, node_id, node_title

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="Chromium and chromedriver are not installed"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed"),
]
OUT = Path(__file__).resolve().parents[1] / "out"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with its performance log on; no sandbox (CI runs as root), no
    background traffic of its own, a fresh profile; the driver given by path so that
    selenium downloads nothing."""
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1400,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def scalar_graph():
    a, b = Scalar(2.0, name="a"), Scalar(-3.0, name="b")
    return (a * b + a.exp()).tanh()


def at(driver) -> int:
    return int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-step"))


def click(driver, button: str) -> None:
    driver.find_element(By.ID, button).click()


STATE = """
const text = (el, sel) => { const e = el.querySelector(sel); return e ? e.textContent : null; };
const panel = document.getElementById("panel");
return {
  step: Number(document.body.getAttribute("data-step")),
  counter: document.getElementById("counter").textContent,
  current: document.getElementById("graph").getAttribute("data-current"),
  highlighted: Array.from(document.querySelectorAll("#graph svg g.node"))
    .filter(g => /^v\\d+$/.test(g.id))
    .filter(g => { const p = g.querySelector("polygon");
                   return p && p.getAttribute("fill") === arguments[0]; })
    .map(g => g.id),
  panel: panel.textContent,
  node: text(panel, ".node"),
  upstream: text(panel, ".upstream"),
  sent: Array.from(panel.querySelectorAll(".contributions li"))
    .map(li => [text(li, ".to"), text(li, ".grad")]),
};
"""


def check_step(driver, steps, k: int, names: dict | None = None) -> None:
    """The page shows step k: the counter, the highlighted box and the panel (read in one
    round trip to the browser)."""
    page = driver.execute_script(STATE, COLOURS["current"])
    assert page["step"] == k
    assert page["counter"] == f"step {k} of {len(steps)}"
    if k == 0:
        assert page["current"] == "" and page["highlighted"] == []
        assert "Before the backward pass" in page["panel"]
        return
    s = steps[k - 1]
    assert page["current"] == node_id(s.node)
    assert page["highlighted"] == [node_id(s.node)]
    assert page["node"].startswith(node_title(s.node, names))
    assert numbers(page["upstream"]) == pytest.approx(np.ravel(s.upstream).tolist(), rel=2e-3,
                                                      abs=1e-6)
    assert len(page["sent"]) == len(s.contributions)
    for (to, grad), (x, g) in zip(page["sent"], s.contributions, strict=True):
        assert to.startswith(node_title(x, names))
        assert numbers(grad) == pytest.approx(np.ravel(g).tolist(), rel=2e-3, abs=1e-6)


def requests_made(driver) -> list[str]:
    """URLs the browser requested since the log was last read (DevTools' Network events),
    leaving out the browser's own pages (chrome://, the new tab page it starts with) and
    data: URLs, which never leave the machine."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith(("chrome://", "chrome-untrusted://", "data:")):
                urls.append(url)
    return urls


def test_step_back_reset_and_play(browser, tmp_path):
    root = scalar_graph()
    steps = ag.backward_steps(root)
    n = len(steps)
    page = Path(animate_backward(root, tmp_path / "scalar.html", interval_ms=40))
    browser.get_log("performance")  # start from an empty log
    browser.get(page.as_uri())
    check_step(browser, steps, 0)
    for k in range(1, n + 1):
        click(browser, "step")
        check_step(browser, steps, k)
    assert not browser.find_element(By.ID, "step").is_enabled()  # nothing after the last
    click(browser, "back")
    click(browser, "back")
    check_step(browser, steps, n - 2)
    click(browser, "reset")
    check_step(browser, steps, 0)
    assert not browser.find_element(By.ID, "back").is_enabled()
    click(browser, "step")
    click(browser, "step")
    click(browser, "step")
    check_step(browser, steps, 3)
    OUT.mkdir(exist_ok=True)
    browser.save_screenshot(str(OUT / "browser_stepper_scalar.png"))
    click(browser, "play")
    assert browser.find_element(By.ID, "play").text == "Pause"
    WebDriverWait(browser, 30, poll_frequency=0.05).until(lambda d: at(d) == n)
    check_step(browser, steps, n)
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.ID, "play").text == "Play")  # stopped at the end

    # the page asked for itself and nothing else, and nothing went wrong
    assert set(requests_made(browser)) <= {page.as_uri()}
    assert browser.execute_script(
        "return performance.getEntriesByType('resource').length") == 0
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_tensor_page_with_modules(browser, tmp_path):
    import nn
    from nn import functional as F

    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2])
    params = dict(model.named_parameters())
    x = Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), name="x")
    loss = F.mse_loss(model(x), np.ones((2, 2), dtype=np.float32))
    steps = ag.backward_steps(loss)
    page = Path(animate_backward(loss, tmp_path / "mlp.html", params=params,
                                 expand_fused=True))
    browser.get(page.as_uri())
    for k in range(1, len(steps) + 1):
        click(browser, "step")
        check_step(browser, steps, k, {id(p): name for name, p in params.items()})
        if k == 4:
            OUT.mkdir(exist_ok=True)
            browser.save_screenshot(str(OUT / "browser_stepper_mlp.png"))
    # full size, wider than the window; Fit shrinks it to the width and back
    width = "return [document.querySelector('#graph svg').getBoundingClientRect().width," \
            " document.getElementById('graph').clientWidth];"
    svg, box = browser.execute_script(width)
    assert svg > box
    click(browser, "fit")
    svg, box = browser.execute_script(width)
    assert svg <= box
    assert browser.find_element(By.ID, "fit").text == "Full size"
    click(browser, "fit")
    assert browser.execute_script(width)[0] > box
    # the arrow keys move too
    body = browser.find_element(By.TAG_NAME, "body")
    from selenium.webdriver.common.keys import Keys

    body.send_keys(Keys.ARROW_LEFT)
    check_step(browser, steps, len(steps) - 1, {id(p): name for name, p in params.items()})
    body.send_keys(Keys.HOME)
    assert at(browser) == 0


def test_the_page_cannot_reach_the_network(browser, tmp_path):
    page = Path(animate_backward(scalar_graph(), tmp_path / "csp.html"))
    browser.get(page.as_uri())
    browser.get_log("browser")
    browser.get_log("performance")
    # what a script in the page would try: the policy refuses it before any connection
    outcome = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('http://127.0.0.1:9/x').then(() => done('fetched'), e => done(String(e)));")
    assert outcome != "fetched" and "TypeError" in outcome
    assert not any("127.0.0.1" in url for url in requests_made(browser))
    log = " ".join(e["message"] for e in browser.get_log("browser"))
    assert "Content Security Policy" in log
