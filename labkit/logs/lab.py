"""Lab 02 as functions the notebook calls: start the services, pay, break, deploy a fix."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ComponentError, InputError
from ..paths import LABS
from ..runtime import Run
from ..waiting import free_port, http_probe, wait_until

LAB = LABS / "02-log-correlation"
SERVICES_DIR = LAB / "services"
BROKEN_HANDLER = SERVICES_DIR / "handlers" / "broken.py"
SOLUTION_HANDLER = LAB / "solution" / "handler.py"
# Start order: downstream first, so each service's upstream URL already answers.
SERVICES = ("email-provider", "notification", "ledger", "auth")
PROGRAMS = {"email-provider": "email_provider.py", "notification": "notification.py",
            "ledger": "ledger.py", "auth": "auth.py"}


def _post(url: str, body: dict, timeout: float = 15.0) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return json.loads(err.read() or b"{}") | {"http_status": err.code}
    except OSError as err:
        raise ComponentError(f"POST {url} failed: {err}") from None


def _get(url: str, timeout: float = 5.0) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")
    except OSError as err:
        raise ComponentError(f"GET {url} failed: {err}") from None


@dataclass
class Payment:
    """What auth answered for one payment."""

    trace_id: str
    w3c_trace_id: str
    status: str
    notification: str | None
    recipient: str = ""


@dataclass
class LogLab:
    """The four running services and where they log."""

    run: Run
    log_dir: Path
    urls: dict[str, str]
    handler_file: Path
    email_delay_s: float = 0.0
    retry_after_s: float = 1.0
    payments: list[Payment] = field(default_factory=list)

    def pay(self, user_id: str = "u-1001", amount: float = 42.0, currency: str = "EUR",
            recipient: str = "alice@example.com", settle: bool = True) -> Payment:
        """Make one payment through auth; with settle, wait until every service has finished with it."""
        answer = _post(f"{self.urls['auth']}/pay", {"user_id": user_id, "amount": amount, "currency": currency,
                                                    "recipient": recipient})
        if "trace_id" not in answer:
            raise ComponentError(f"auth did not return a trace ID: {answer}")
        payment = Payment(answer["trace_id"], answer["w3c_trace_id"], answer.get("status", "?"),
                          answer.get("notification"), recipient)
        self.payments.append(payment)
        if settle:
            self.settle()
        return payment

    def settle(self) -> None:
        """Wait until no retry is queued and the provider answers no send: every line is written.

        The provider may still be answering a caller that gave up, and a queued retry runs later.
        """
        def idle() -> bool:
            retries = _get(f"{self.urls['notification']}/admin/pending")["retries"]
            return retries == 0 and _get(f"{self.urls['email-provider']}/admin/in-flight")["in_flight"] == 0
        wait_until(idle, timeout=2 * self.email_delay_s + self.retry_after_s + 10,
                   what="notification's retries and the e-mail provider's sends to finish")

    def pay_burst(self, count: int = 4, spacing_s: float = 1.5) -> list[Payment]:
        """Payments from `count` users, one every spacing_s, overlapping in time; then settle."""
        if count < 1 or spacing_s < 0:
            raise InputError("a burst needs count >= 1 and spacing_s >= 0")
        from concurrent.futures import ThreadPoolExecutor

        def one(i: int) -> Payment:
            time.sleep(i * spacing_s)
            return self.pay(user_id=f"u-{2001 + i}", recipient=f"user{i + 1}@example.com", settle=False)

        with ThreadPoolExecutor(max_workers=count) as pool:
            burst = list(pool.map(one, range(count)))
        self.settle()
        return burst

    def set_email_delay(self, seconds: float) -> None:
        """Make the provider answer after `seconds` (longer than notification waits = a timeout)."""
        _post(f"{self.urls['email-provider']}/admin/delay", {"delay_s": seconds})
        self.email_delay_s = seconds

    def install_handler(self, source: str | Path) -> None:
        """Deploy an on_email_timeout handler (Python source text or a file); notification reloads it."""
        text = Path(source).read_text() if isinstance(source, Path) else source
        if "def on_email_timeout" not in text:
            raise InputError("a handler must define on_email_timeout(log, ctx, recipient, error, elapsed_ms)")
        tmp = self.handler_file.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.handler_file)  # atomic: the service never reads half a file

    def stop(self) -> None:
        """Stop the services and everything else the lab started."""
        self.run.stop()


def start_lab(run: Run, email_timeout_s: float = 0.3, retry_after_s: float = 1.0, timeout: float = 30.0) -> LogLab:
    """Start auth, ledger, notification and the e-mail provider on free 127.0.0.1 ports."""
    log_dir = run.dir / "service-logs"
    log_dir.mkdir(exist_ok=True)
    handler = run.dir / "notification_handler.py"
    shutil.copyfile(BROKEN_HANDLER, handler)
    ports = {name: free_port() for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env_of = {
        "email-provider": {},
        "notification": {"EMAIL_URL": urls["email-provider"], "HANDLER_FILE": str(handler),
                         "EMAIL_TIMEOUT_S": str(email_timeout_s), "RETRY_AFTER_S": str(retry_after_s)},
        "ledger": {"NOTIFICATION_URL": urls["notification"]},
        "auth": {"LEDGER_URL": urls["ledger"]},
    }
    for name in SERVICES:
        env = {"PORT": str(ports[name]), "LOG_FILE": str(log_dir / f"{name}.log"), "PYTHONUNBUFFERED": "1",
               **env_of[name]}
        run.start_process(name, [sys.executable, str(SERVICES_DIR / PROGRAMS[name])], env=env,
                          cwd=SERVICES_DIR, ready=http_probe(f"{urls[name]}/healthz"), timeout=timeout,
                          ports={"http": ports[name]})
    return LogLab(run, log_dir, urls, handler, retry_after_s=retry_after_s)


def run_cli(trace_id: str, log_dir: Path, grace_ms: int = 2000) -> int:
    """Run `labkit logs correlate` as a CI job would, in its own process; returns its exit code."""
    import subprocess

    argv = [sys.executable, "-m", "labkit.cli", "logs", "correlate", trace_id, "--log-dir", str(log_dir),
            "--grace-ms", str(grace_ms)]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120).returncode
