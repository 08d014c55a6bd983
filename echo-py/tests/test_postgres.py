"""The same API on PostgreSQL (ECHO_TEST_PG_URL; skipped loudly without it)."""

from __future__ import annotations

import echo_ai
from echo_ai import Echo, Principal, Provider

from support import crm_spec


def test_postgres_end_to_end(pg_url: str) -> None:
    with Echo.open(pg_url, providers=[Provider.crm_demo()], pool={"max_connections": 4, "acquire_timeout": 10}) as echo:
        account = echo.create_account(Principal.admin(), "Acme")
        me = Principal.host(account.id)
        experiment = echo.create_experiment(me, crm_spec(repeats=3))
        report = echo.run(me, experiment.id, seed=1)
        assert report.status == "completed" and report.counts.succeeded == 12
        assert echo.quota_status(me).used == 12
        other = Principal.host(echo.create_account(Principal.admin(), "Other").id)
        try:
            echo.report(other, report.run_id)
            raise AssertionError("another account read the report")
        except echo_ai.NotFoundError:
            pass
    with Echo.open(pg_url) as again:  # the data persisted, through the plain URL too
        assert again.get_account(me) == account
