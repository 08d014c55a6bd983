"""Privacy: retention (with a manual clock), the consent gate, privacy settings."""

from __future__ import annotations

import io
import json
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest

import echo_ai
from echo_ai import DATA_PROCESSING, Echo, ManualClock, Principal, Provider, RetentionPolicy

from support import crm_spec


#: Whole seconds, so times the store keeps to the millisecond compare equal.
START = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def exported_samples(echo: Echo, principal: Principal) -> List[Dict[str, Any]]:
    buffer = io.BytesIO()
    echo.export_account(principal, buffer)
    samples: List[Dict[str, Any]] = json.loads(buffer.getvalue())["samples"]
    return samples


def test_retention_anonymizes_answers_after_the_ttl_and_reports_keep_computing() -> None:
    clock = ManualClock(START)
    policy = RetentionPolicy(raw_answer_ttl=timedelta(days=1))
    with Echo.open(providers=[Provider.crm_demo()], quota="unmetered", retention=policy, clock=clock) as echo:
        admin = Principal.admin()
        me = Principal.host(echo.create_account(admin, "Acme").id)
        experiment = echo.create_experiment(me, crm_spec())
        before = echo.run(me, experiment.id, seed=5)
        assert all(s["raw_answer"] for s in exported_samples(echo, me))

        # Within the TTL nothing is due.
        kept = echo.apply_retention(admin, clock.now())
        assert kept.samples_anonymized == 0 and kept.complete
        assert kept.raw_answer_cutoff == clock.now() - timedelta(days=1)

        clock.advance(timedelta(days=2))
        applied = echo.apply_retention(admin, clock.now())
        assert applied.samples_anonymized == 20 and applied.batches == 1 and applied.complete
        samples = exported_samples(echo, me)
        assert len(samples) == 20
        assert all(s["raw_answer"] is None and s["raw_response"] is None for s in samples)
        assert all(s["anonymized_at"] is not None for s in samples)
        assert any(s["mentions"] for s in samples), "mentions must survive anonymization"

        # The report is computed from the facts that stay: the same numbers.
        after = echo.report(me, before.run_id)
        assert after.overall == before.overall and after.by_target == before.by_target
        assert after.cells == before.cells
        # Idempotent.
        assert echo.apply_retention(admin, clock.now()).samples_anonymized == 0

        with pytest.raises(echo_ai.PermissionDeniedError):
            echo.apply_retention(me, clock.now())


def test_retention_policy_keeps_defaults_for_unset_fields_and_is_validated() -> None:
    with Echo.open(retention={"raw_answer_ttl": timedelta(days=7)}) as echo:
        policy = echo.retention_policy()
    assert policy.raw_answer_ttl == timedelta(days=7)
    assert policy.audit_ttl == timedelta(days=730) and policy.deletion_grace == timedelta(days=30)
    assert policy.batch_size == 500 and policy.max_batches == 200
    assert RetentionPolicy.from_dict(policy.to_dict()) == policy

    with Echo.open(deletion_grace=timedelta(days=3)) as echo:
        assert echo.retention_policy().deletion_grace == timedelta(days=3)

    with pytest.raises(echo_ai.InvalidInputError) as info:
        Echo.open(retention=RetentionPolicy(raw_answer_ttl=timedelta(hours=1)))
    assert info.value.field == "retention.raw_answer_ttl" and "at least one day" in str(info.value)
    with pytest.raises(echo_ai.InvalidInputError) as info:
        Echo.open(retention={"raw_answers": 86400 * 7})  # a typo is not silently ignored
    assert info.value.field == "retention"
    with pytest.raises(echo_ai.InvalidInputError) as info:
        Echo.open(retention=RetentionPolicy(deletion_grace=timedelta(days=2)), deletion_grace=timedelta(days=3))
    assert info.value.field == "deletion_grace"


def test_consent_gate_refuses_runs_until_consent_is_recorded() -> None:
    with Echo.open(providers=[Provider.crm_demo()], quota="unmetered", require_consent=DATA_PROCESSING) as echo:
        me = Principal.host(echo.create_account(Principal.admin(), "Acme").id)
        experiment = echo.create_experiment(me, crm_spec(repeats=1))

        with pytest.raises(echo_ai.ConsentRequiredError) as info:
            echo.run(me, experiment.id)
        err = info.value
        assert isinstance(err, echo_ai.EchoError) and err.kind == "consent_required"
        assert err.purpose == DATA_PROCESSING and err.withdrawn is False
        assert "record_consent" in str(err)
        copy = pickle.loads(pickle.dumps(err))
        assert type(copy) is echo_ai.ConsentRequiredError and copy.purpose == DATA_PROCESSING
        # Refused before anything was written.
        assert len(echo.list_runs(me, experiment.id)) == 0

        consent = echo.record_consent(me, DATA_PROCESSING, "2025-01", source="signup_form")
        assert consent.granted and consent.recorded_by == "host" and consent.source == "signup_form"
        assert echo.run(me, experiment.id, seed=1).status == "completed"

        echo.record_consent(me, DATA_PROCESSING, "2025-01", granted=False)
        with pytest.raises(echo_ai.ConsentRequiredError) as info:
            echo.enqueue_run(me, experiment.id)
        assert info.value.withdrawn is True

        consents = echo.consents(me)
        assert [c.granted for c in consents.history] == [True, False]
        assert len(consents.current) == 1 and not consents.is_granted(DATA_PROCESSING)


def test_consent_is_the_hosts_to_record(echo: Echo, me: Principal) -> None:
    key = echo.create_api_key(me, "ci", ["experiments:write", "experiments:read"])
    with pytest.raises(echo_ai.PermissionDeniedError):
        echo.record_consent(echo.authenticate(key.secret), DATA_PROCESSING, "v1")
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.record_consent(me, "  ", "v1")
    assert info.value.field == "consent.purpose"
    # Without require_consent, runs need no consent.
    assert echo.consents(me).current == []


@pytest.mark.asyncio
async def test_consent_gate_async() -> None:
    aecho = await echo_ai.AsyncEcho.open(providers=[Provider.crm_demo()], quota="unmetered", require_consent=["a", "b"])
    async with aecho:
        me = Principal.host((await aecho.create_account(Principal.admin(), "Acme")).id)
        experiment = await aecho.create_experiment(me, crm_spec(repeats=1))
        await aecho.record_consent(me, "a", "v1")
        with pytest.raises(echo_ai.ConsentRequiredError) as info:
            await aecho.run(me, experiment.id)
        assert info.value.purpose == "b"
        await aecho.record_consent(me, "b", "v1")
        report = await aecho.run(me, experiment.id)
        assert report.counts.succeeded == 4
        assert (await aecho.consents(me)).is_granted("b")


def test_privacy_settings(echo: Echo, me: Principal) -> None:
    default = echo.privacy_settings(me)
    assert default.redact_pii is False and "US" in default.phone_regions
    changed = echo.set_privacy_settings(me, redact_pii=True, phone_regions=["gb", "us", "GB"])
    assert changed == echo_ai.PrivacySettings(redact_pii=True, phone_regions=["GB", "US"])
    assert echo.privacy_settings(me) == changed
    # Regions left out are the defaults.
    assert echo.set_privacy_settings(me, redact_pii=False).phone_regions == sorted(default.phone_regions)
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.set_privacy_settings(me, redact_pii=True, phone_regions=["XX"])
    assert info.value.field == "privacy.phone_regions"


@pytest.mark.asyncio
async def test_privacy_settings_async(echo: Echo, me: Principal) -> None:
    aecho = echo.aio
    settings = await aecho.set_privacy_settings(me, redact_pii=True)
    assert settings.redact_pii and (await aecho.privacy_settings(me)) == settings
    assert aecho.retention_policy() == echo.retention_policy()
    report = await aecho.apply_retention(Principal.admin(), ManualClock().now())
    assert report.complete
