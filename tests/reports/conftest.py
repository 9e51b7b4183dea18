"""A small registry built and run through the real pipeline once per session, for report tests.

Areas: city C; district D1 with towns T1, T2 and the tiny T3; district D2 with town T4.
Births: two years of weekly records (2023-01-02 .. 2024-12-29), sexes drawn with a fixed
seed. Planted: second births in T1 at SRB ~ 150 during 2024 (level alerts), and town T3
with 3 boys and 7 girls in the last 52 weeks (small counts: suppression and its complement).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import json
import os
import re
import socket
import ssl
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import Registry, record

AREAS = """area_code,name,parent_code,level
C,测试市 Test City,,city
D1,东区 East District,C,district
D2,西区 West District,C,district
T1,甲镇 Town One,D1,town
T2,乙镇 Town Two,D1,town
T3,丙镇 Town Three,D1,town
T4,丁镇 Town Four,D2,town
V1,甲一村,T1,village
V2,甲二村,T1,village
V3,乙一村,T2,village
V4,乙二村,T2,village
V5,丙一村,T3,village
V6,丙二村,T3,village
V7,丁一村,T4,village
V8,丁二村,T4,village
"""
FIRST_WEEK = dt.date(2023, 1, 2)
WEEKS = 104
REPORT_WEEK = "2024-W52"


def _births(rng: np.random.Generator) -> list[str]:
    lines: list[str] = []
    weekly = {"V1": 9, "V2": 9, "V3": 8, "V4": 7, "V7": 6, "V8": 6}
    for week in range(WEEKS):
        monday = FIRST_WEEK + dt.timedelta(weeks=week)
        for village, mean in weekly.items():
            for k in range(int(rng.poisson(mean))):
                birth_order = str(rng.choice([1, 2, 3], p=[0.55, 0.38, 0.07]))
                share_boys = 0.6 if (village in ("V1", "V2") and birth_order == "2" and monday.year == 2024) else 0.515
                day = monday + dt.timedelta(days=int(rng.integers(0, 7)))
                lines.append(record(f"RPT-{village}-{week}-{k}", birth_date=day.isoformat(),
                                    sex="M" if rng.random() < share_boys else "F", birth_order=birth_order,
                                    area_code=village, registered_date=(day + dt.timedelta(days=3)).isoformat(),
                                    policy_status="within" if rng.random() < 0.9 else "outside"))
    # the tiny town: 3 boys and 7 girls in 2024, one birth a month or so
    for k, sex in enumerate("MFFMFFMFFF"):
        day = dt.date(2024, 1 + k, 10)
        lines.append(record(f"RPT-V5-tiny-{k}", birth_date=day.isoformat(), sex=sex, area_code="V5",
                            registered_date=(day + dt.timedelta(days=3)).isoformat()))
    return lines


EXTRA_CONFIG = """
[report]
output_dir = "var/reports"

[email]
smtp_host = "127.0.0.1"
smtp_port = 1
security = "none"
sender = "srb-surveil@example.org"
outbox_dir = "var/outbox"
retry_backoff_minutes = 0

[email.recipients]
D1 = ["east.officer@example.org", "east.deputy@example.org"]

[export]
output_dir = "var/exports"

[export.departments.public_security]
strata = ["parity_2_within_policy", "parity_2"]
min_severity = "medium"

[export.departments.market_regulation]
methods = ["cusum"]
"""


@pytest.fixture(scope="session")
def report_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """The registry above, loaded and run (`surveil run`), with the reports of D1 and D2 written."""
    os.environ.setdefault("MPLCONFIGDIR", str(tmp_path_factory.mktemp("matplotlib")))
    registry = Registry(tmp_path_factory.mktemp("report") / "registry")
    (registry.root / "areas.csv").write_text(AREAS, encoding="utf-8")
    (registry.root / "adjacency.csv").write_text("area_code_a,area_code_b\nT1,T2\nT2,T3\nT3,T4\n", encoding="utf-8")
    registry.deliver("births_2024.csv", _births(np.random.default_rng(20240101)))
    registry.write_config(EXTRA_CONFIG)
    runner = CliRunner()
    for args in (("run",), ("report", "--week", REPORT_WEEK)):
        result = runner.invoke(app, [*args, "--config", str(registry.config)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return registry


@pytest.fixture
def surveil_cli() -> Callable[..., object]:
    """The real CLI in-process (as tests/conftest.py's ``surveil``)."""
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


# --- a real SMTP server on 127.0.0.1 (aiosmtpd), optionally with TLS and AUTH -----------------

SMTP_USER, SMTP_PASSWORD = "district-mailer", "correct horse battery staple"


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts.

    ``refuse_data``: the first n DATA commands get 451 (try again later);
    ``refuse_rcpt``: these addresses get 550 at RCPT; ``hang_at``: "RCPT" or "DATA" makes the
    server stop answering there (``reached`` is set), to kill the client mid-conversation.
    """

    def __init__(self, refuse_data: int = 0, refuse_rcpt: tuple[str, ...] = (), hang_at: str | None = None) -> None:
        self.refuse_data = refuse_data
        self.refuse_rcpt = refuse_rcpt
        self.hang_at = hang_at
        self.reached = threading.Event()
        self.data_commands = 0
        self.logins: list[str] = []
        self.tls_ciphers: list[object] = []
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def _hang(self, phase: str) -> None:
        if self.hang_at == phase:
            self.reached.set()
            await asyncio.sleep(120)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        await self._hang("RCPT")
        if address in self.refuse_rcpt:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.data_commands += 1
        await self._hang("DATA")
        self.tls_ciphers.append(server.transport.get_extra_info("cipher"))
        if self.refuse_data:
            self.refuse_data -= 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        """aiosmtpd's authenticator: one user, one password."""
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(), SMTP_PASSWORD.encode())
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(mailbox: Mailbox, security: str = "none", tls: TestCA | None = None):
    """Serve ``mailbox`` on 127.0.0.1: plain, STARTTLS (required, with AUTH) or implicit TLS (with AUTH)."""
    port = free_port()
    options: dict = {}
    if security == "starttls":
        options = {"tls_context": tls.server_context(), "require_starttls": True,
                   "authenticator": mailbox.authenticate, "auth_require_tls": True}
    elif security == "tls":
        # the whole connection is TLS; aiosmtpd's auth_require_tls only knows STARTTLS
        options = {"ssl_context": tls.server_context(), "authenticator": mailbox.authenticate,
                   "auth_require_tls": False}
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class TestCA:
    """A certificate authority made for the tests, and a server certificate for 127.0.0.1 it signed."""

    __test__ = False   # not a test class

    def __init__(self, folder: Path) -> None:
        now = dt.datetime.now(dt.UTC)
        ca_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "srb-surveil test CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
              .not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                           crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        server = (x509.CertificateBuilder()
                  .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
                  .issuer_name(ca_name).public_key(server_key.public_key())
                  .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
                  .not_valid_after(now + dt.timedelta(days=1))
                  .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                              x509.DNSName("localhost")]), critical=False)
                  .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                  .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                 critical=False)
                  .sign(ca_key, hashes.SHA256()))
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.chain_file = folder / "server.pem"
        self.chain_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        self.key_file = folder / "server.key"
        self.key_file.write_bytes(server_key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.chain_file, self.key_file)
        return context


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def email_config(report_registry):
    """Point the session registry's [email] at a port with other settings; the outbox starts empty.

    ``use(port, security="none", reset_outbox=True, **keys)`` rewrites the config (restored
    afterwards) and returns its path.
    """
    original = report_registry.config.read_text(encoding="utf-8")

    def use(port: int, security: str = "none", *, reset_outbox: bool = True, **keys: object) -> Path:
        lines = [f'security = "{security}"'] + [
            f"{key} = {json.dumps(value if isinstance(value, int | float) else str(value))}"
            for key, value in keys.items()]
        text = original.replace("smtp_port = 1\n", f"smtp_port = {port}\n")
        for key in keys:   # the [email] keys given replace the fixture's
            text = re.sub(rf"^{key} = .*\n", "", text, flags=re.MULTILINE)
        text = text.replace('security = "none"\n', "\n".join(lines) + "\n")
        report_registry.config.write_text(text, encoding="utf-8")
        if reset_outbox:
            with duckdb.connect(str(report_registry.database)) as con:
                con.execute("delete from outbox")
        return report_registry.config

    yield use
    report_registry.config.write_text(original, encoding="utf-8")
