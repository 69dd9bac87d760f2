"""The web dashboard, end to end in headless Chromium (Debian's chromium + chromedriver, driven by
Selenium): sign in with a token, submit a QASM circuit, watch it complete, read its histogram
and provenance; a bad token is refused; another project's jobs never show."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

import kizuna

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are not installed; .ci/run installs them")
        pytest.skip("headless Chromium is not installed here (the CI run installs it)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=30.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def _sign_in(driver, base, token):
    from selenium.webdriver.common.by import By

    driver.get(base + "/")
    _wait(driver, lambda d: d.find_element(By.ID, "token").is_displayed())
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "signin-button").click()


def test_sign_in_submit_and_read_a_result(tmp_path, make_service, live_server, submit_job, bell_spec, browser):
    from selenium.webdriver.common.by import By

    from kizuna.service.worker import run_worker

    svc = make_service(tmp_path)
    other = submit_job(svc, who="bob", spec=bell_spec(seed=1))  # project B: must never show for amy
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(svc.url,),
                              kwargs={"poll_s": 0.05, "isolation": "thread", "stop": stop}, daemon=True)
    with live_server(svc.app) as server:
        worker.start()
        try:
            _sign_in(browser, server.url, svc.tokens["amy"])
            _wait(browser, lambda d: d.find_element(By.ID, "app").is_displayed())
            assert browser.find_element(By.ID, "who").text == "amy"

            browser.find_element(By.ID, "shots").clear()
            browser.find_element(By.ID, "shots").send_keys("500")
            browser.find_element(By.ID, "seed").send_keys("7")
            browser.find_element(By.ID, "submit-button").click()
            status = _wait(browser, lambda d: d.find_element(By.ID, "submit-status").get_attribute("data-job-id"))
            row = f"tr[data-job-id='{status}']"
            _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row)
                  and "COMPLETED" in d.find_element(By.CSS_SELECTOR, row).text)
            assert not browser.find_elements(By.CSS_SELECTOR, f"tr[data-job-id='{other}']")

            browser.find_element(By.CSS_SELECTOR, row + " button.view").click()
            bars = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#histogram rect.bar"))
            shown = {b.get_attribute("data-outcome"): int(b.get_attribute("data-count")) for b in bars}
            # the page shows exactly what kizuna.run gives for the same circuit and seed
            expected = kizuna.run(kizuna.qasm2.loads(bell_spec()["qasm"]), shots=500, seed=7).counts
            assert shown == expected
            provenance = browser.find_element(By.ID, "provenance").text
            assert "inputs_sha256" in provenance and "kizuna_version" in provenance and "submitter amy" in provenance
        finally:
            stop.set()
            worker.join(30)


def test_a_bad_token_is_refused_and_nothing_is_shown(tmp_path, make_service, live_server, browser):
    from selenium.webdriver.common.by import By

    svc = make_service(tmp_path)
    with live_server(svc.app) as server:
        _sign_in(browser, server.url, "kz_not-a-real-token")
        message = _wait(browser, lambda d: d.find_element(By.ID, "signin-error").text)
        assert "not accepted" in message
        assert not browser.find_element(By.ID, "app").is_displayed()
        assert browser.execute_script("return window.sessionStorage.getItem('kizuna-token')") is None


def test_the_page_is_public_but_holds_no_data(tmp_path, make_service):
    svc = make_service(tmp_path)
    page = svc.http.get("/dashboard")
    assert page.status_code == 200 and "Sign in" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert svc.http.get("/", follow_redirects=False).headers["location"] == "/dashboard"
    assert svc.http.get("/dashboard/app.js").headers["content-type"].startswith("text/javascript")
    assert svc.http.get("/api/v1/jobs").status_code == 401
