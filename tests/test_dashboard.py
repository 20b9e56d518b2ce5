"""The web dashboard in a real headless Chromium (Debian `chromium` + `chromium-driver`, driven by
Selenium): log in with the API token, see a paho client appear and kick it (the client sees the
disconnect), delete a retained message, unload and reload the Python driver, start a trace and
see a publish's `message.publish` call with the hook's rewrite, and check that attacker-chosen
client ids, topics and payloads are shown as text, never run. A screenshot of every page goes to
target/dashboard/ (kept as artifacts; some are used in docs/dashboard.md). Also the HTTP side:
401 without the token, no CORS, cross-site writes refused, security headers."""

import json
import pathlib
import shutil
import urllib.error
import urllib.request

import pytest

from harness import ROOT, Client
from test_port_support import driver_toml, start, url
from test_trace import REWRITER

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

TOKEN = "dash-s3cret"
SHOTS = ROOT / "target" / "dashboard"
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium")

pytestmark = pytest.mark.skipif(not (CHROMEDRIVER and CHROMIUM),
                                reason="Debian chromium and chromium-driver are not installed")

XSS_ID = '<img src=x onerror="window.__xss=1">'
XSS_TOPIC = 'xss/<script>window.__xss=2</script>'


@pytest.fixture
def dash(broker_factory, tmp_path):
    # start() puts the [api] table first: the token line lands in it.
    return start(broker_factory, tmp_path, files={"ext/rewriter.py": REWRITER},
                 config=f'token = "{TOKEN}"\n' + driver_toml("python3", path="ext", init_module="rewriter"))


@pytest.fixture
def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium'}"]:
        opts.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    d = webdriver.Chrome(options=opts, service=service)
    d.set_page_load_timeout(30)
    yield d
    d.quit()


def http(b, method, path, token=TOKEN, headers=None, body=None):
    req = urllib.request.Request(url(b) + path, method=method, headers=headers or {})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data, timeout=10) as r:
            text = r.read().decode()
            return r.status, r.headers, (json.loads(text) if r.headers.get_content_type() == "application/json" else text)
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def wait(d, pred, what, timeout=20):
    # Pages re-render after every action: an element found a moment ago may be gone.
    w = WebDriverWait(d, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))
    return w.until(lambda d: pred(d), message=what)


def shot(d, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(SHOTS / f"{name}.png"))


def page(d, b, hash_):
    d.get(f"{url(b)}/#/{hash_}")
    name = hash_.split("?")[0]
    wait(d, lambda d: d.find_element(By.ID, "main").get_attribute("data-page") == name, f"page {hash_}")


def rows(d, attr, value):
    # One script, so the page cannot re-render between finding the rows and reading them.
    return d.execute_script(
        "return [...document.querySelectorAll(`tr[${arguments[0]}]`)]"
        ".filter(r => r.getAttribute(arguments[0]) === arguments[1])", attr, value)


def test_dashboard_end_to_end(dash, browser):
    b, d = dash, browser
    # Log in: the page asks for the token because the API answers 401 without it.
    d.get(url(b) + "/")
    token = wait(d, lambda d: d.find_elements(By.ID, "token"), "login form")[0]
    shot(d, "login")
    token.send_keys(TOKEN)
    d.find_element(By.ID, "login").click()
    wait(d, lambda d: d.find_elements(By.ID, "uptime"), "overview after login")
    wait(d, lambda d: "max" in d.find_element(By.CSS_SELECTOR, ".chart").text, "charts")

    # A paho client appears, and the kick button disconnects it.
    c = Client(b, client_id="dash-client", username="dana")
    c.connect()
    c.subscribe("dash/#", 1)
    wait(d, lambda d: d.find_element(By.ID, "connections").text == "1", "one connection on the overview")
    shot(d, "overview")
    page(d, b, "clients")
    row = wait(d, lambda d: rows(d, "data-clientid", "dash-client"), "client row")[0]
    assert "dana" in row.text
    shot(d, "clients")
    d.get(f"{url(b)}/#/client?id=dash-client")
    wait(d, lambda d: "dash/#" in d.find_element(By.ID, "main").text, "client details with its subscription")
    shot(d, "client")
    d.find_element(By.CSS_SELECTOR, "button.kick").click()
    c.expect_disconnect()
    page(d, b, "subscriptions")
    shot(d, "subscriptions")

    # A retained message is shown and deleted.
    pub = Client(b, client_id="dash-pub")
    pub.connect()
    pub.publish("dash/ret", b"keep me", qos=1, retain=True)
    page(d, b, "retained")
    row = wait(d, lambda d: rows(d, "data-topic", "dash/ret"), "retained row")[0]
    assert "keep me" in row.text
    shot(d, "retained")
    row.find_element(By.CSS_SELECTOR, "button.delete-retained").click()
    wait(d, lambda d: "dash/ret" not in [m["topic"] for m in http(b, "GET", "/api/v1/retained")[2]["data"]],
         "retained deleted")
    wait(d, lambda d: not rows(d, "data-topic", "dash/ret"), "row gone from the page")

    # Unload and reload the Python driver from the hooks page.
    page(d, b, "hooks")
    wait(d, lambda d: rows(d, "data-handler", "python3"), "python3 handler listed")
    shot(d, "hooks")
    d.find_element(By.CSS_SELECTOR, "button.plugin-unload").click()
    wait(d, lambda d: http(b, "GET", "/api/v1/hooks")[2]["data"] == [], "handlers gone after unload")
    wait(d, lambda d: not rows(d, "data-handler", "python3"), "page shows no handler")
    d.find_element(By.CSS_SELECTOR, "button.plugin-reload").click()
    wait(d, lambda d: [h["name"] for h in http(b, "GET", "/api/v1/hooks")[2]["data"]] == ["python3"],
         "python3 back after reload", timeout=40)
    wait(d, lambda d: rows(d, "data-handler", "python3"), "page shows python3 again")

    # Start a trace for the publisher's message.publish calls and see the rewrite.
    page(d, b, "trace")
    d.find_element(By.ID, "trace-client").send_keys("dash-pub")
    Select(d.find_element(By.ID, "trace-point")).select_by_value("message.publish")
    d.find_element(By.ID, "trace-start").click()
    wait(d, lambda d: "following trace" in d.find_element(By.ID, "trace-status").text, "following")
    pub.publish("up/dash", b"hello", qos=1)
    rec = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, 'tr.trace-hook[data-point="message.publish"]'),
               "message.publish record")[0]
    assert "HELLO" in rec.text and "python3" in rec.text and "dash-pub" in rec.text
    shot(d, "trace")

    page(d, b, "log")
    shot(d, "log")
    page(d, b, "config")
    config = d.find_element(By.ID, "config").text
    assert TOKEN not in config and "********" in config
    shot(d, "config")
    pub.disconnect()


def test_attacker_chosen_ids_topics_and_payloads_are_text(dash, browser):
    b, d = dash, browser
    evil = Client(b, client_id=XSS_ID, protocol=5)
    evil.connect()
    evil.subscribe("xss/#", 0)
    evil.publish(XSS_TOPIC, b'<img src=y onerror="window.__xss=3">', qos=1, retain=True)
    d.get(url(b) + "/")
    wait(d, lambda d: d.find_elements(By.ID, "token"), "login form")[0].send_keys(TOKEN)
    d.find_element(By.ID, "login").click()
    wait(d, lambda d: d.find_elements(By.ID, "uptime"), "overview")
    for name, attr, value in [("clients", "data-clientid", XSS_ID), ("retained", "data-topic", XSS_TOPIC)]:
        page(d, b, name)
        row = wait(d, lambda d: rows(d, attr, value), f"{name} row")[0]
        assert value in row.text
        assert not d.find_elements(By.CSS_SELECTOR, "#main img, #main script")
    page(d, b, "subscriptions")
    wait(d, lambda d: XSS_ID in d.find_element(By.ID, "main").text, "subscription of the evil client")
    d.get(f"{url(b)}/#/client?id={urllib.request.quote(XSS_ID)}")
    wait(d, lambda d: XSS_ID in d.find_element(By.ID, "main").text, "evil client's page")
    assert d.execute_script("return window.__xss === undefined")
    shot(d, "xss-as-text")
    evil.disconnect()


def test_http_side_token_cors_cross_site_and_headers(dash):
    b = dash
    status, headers, body = http(b, "GET", "/")
    assert status == 200 and "<script type=\"module\"" in body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert http(b, "GET", "/assets/app.js", token=None)[0] == 200
    # The data needs the token.
    assert http(b, "GET", "/api/v1/status", token=None)[0] == 401
    assert http(b, "GET", "/api/v1/config", token=None)[0] == 401
    assert http(b, "GET", "/api/v1/traces", token=None)[0] == 401
    # No CORS: a cross-origin page gets no permission to read.
    status, headers, _ = http(b, "GET", "/api/v1/status", headers={"Origin": "http://evil.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    status, headers, _ = http(b, "OPTIONS", "/api/v1/clients/x", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "DELETE"})
    assert "Access-Control-Allow-Origin" not in headers and "Access-Control-Allow-Methods" not in headers
    # Cross-site writes are refused even with the token (a page that stole nothing cannot write).
    for h in [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]:
        status, _, body = http(b, "POST", "/api/v1/publish", headers=h,
                               body={"topic": "t", "payload": "x"})
        assert status == 403 and "cross-site" in body, (h, status, body)
    host = url(b).split("://")[1]
    status, _, _ = http(b, "POST", "/api/v1/publish", headers={"Origin": f"http://{host}"},
                        body={"topic": "t", "payload": "x"})
    assert status == 200


def test_without_a_token_rebound_host_names_are_refused(broker_factory, tmp_path):
    b = start(broker_factory, tmp_path)
    assert http(b, "GET", "/api/v1/status", token=None)[0] == 200
    status, _, body = http(b, "GET", "/api/v1/status", token=None, headers={"Host": "evil.example"})
    assert status == 403 and "localhost" in body
    status, _, body = http(b, "POST", "/api/v1/publish", token=None,
                           headers={"Sec-Fetch-Site": "cross-site"}, body={"topic": "t", "payload": "x"})
    assert status == 403
