"""Shared fixtures: an engine on a private in-memory SQLite database with the simulated
CRM market, an account and its host principal, and a small experiment."""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

import echo_ai
from echo_ai import Echo, Principal, Provider
from support import crm_spec

PG_URL = os.environ.get("ECHO_TEST_PG_URL")


@pytest.fixture
def echo() -> Iterator[Echo]:
    engine = Echo.open(providers=[Provider.crm_demo(seed=7)], quota="unmetered")
    yield engine
    engine.close()


@pytest.fixture
def account(echo: Echo) -> echo_ai.Account:
    return echo.create_account(Principal.admin(), "Acme")


@pytest.fixture
def me(account: echo_ai.Account) -> Principal:
    return Principal.host(account.id)


@pytest.fixture
def experiment(echo: Echo, me: Principal) -> echo_ai.Experiment:
    return echo.create_experiment(me, crm_spec())


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (dropped afterwards), or skip loudly without a server.

    With CI=true a missing server is a failure, as for the Rust suite."""
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("ECHO_TEST_PG_URL is not set and CI=true")
        pytest.skip("PostgreSQL tests skipped: set ECHO_TEST_PG_URL")
    psql = _psql()
    name = f"echo_py_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _psql():  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    if shutil.which("psql") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("psql is needed to create the PostgreSQL test database")
        pytest.skip("PostgreSQL tests skipped: psql not found")

    def run(sql: str) -> None:
        subprocess.run(["psql", PG_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True)

    return run
