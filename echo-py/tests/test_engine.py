"""Opening engines, accounts, experiments, estimates: the blocking API end to end."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import echo_ai
from echo_ai import Echo, ExperimentSpec, Principal, Provider

from support import crm_spec


def test_open_in_memory_and_file(tmp_path: Path) -> None:
    with Echo.open(providers=[Provider.crm_demo()]) as echo:
        assert echo.providers == ["simulated"]
    db = tmp_path / "echo.db"
    echo = Echo.open(db, providers=[Provider.crm_demo()])
    account = echo.create_account(Principal.admin(), "Acme")
    echo.close()
    # Reopened through a URL, the data is still there.
    again = Echo.open(f"sqlite://{db}")
    assert again.get_account(Principal.host(account.id)) == account
    again.close()


def test_bad_database_urls_are_invalid_input() -> None:
    with pytest.raises(echo_ai.InvalidInputError) as info:
        Echo.open("mysql://localhost/db")
    assert info.value.field == "database_url"
    with pytest.raises(echo_ai.InvalidInputError, match="pool settings apply to PostgreSQL"):
        Echo.open("sqlite:///tmp/x.db", pool={"max_connections": 2})
    with pytest.raises(echo_ai.InvalidInputError, match="not a policy"):
        Echo.open(quota="gold")


def test_accounts_are_created_by_the_operator_only(echo: Echo, me: Principal) -> None:
    with pytest.raises(echo_ai.PermissionDeniedError):
        echo.create_account(me, "Other")
    account = echo.create_account(Principal.admin(), "Globex", external_id="org-42", tier="pro")
    assert account.tier == "pro" and account.external_id == "org-42"
    assert account.created_at.tzinfo is not None
    # The standard policy knows free, pro and enterprise (the fixture's is unmetered).
    with Echo.open(quota="standard") as standard:
        with pytest.raises(echo_ai.InvalidInputError) as info:
            standard.create_account(Principal.admin(), "Initech", tier="gold")
    assert info.value.field == "account.tier"


def test_experiment_crud_and_pages(echo: Echo, me: Principal) -> None:
    created = [echo.create_experiment(me, crm_spec(name=f"study {i}")) for i in range(3)]
    assert created[0].spec.targets[0] == echo_ai.Target("simulated", "sim-default")
    page = echo.list_experiments(me, limit=2)
    assert [e.spec.name for e in page] == ["study 2", "study 1"]
    rest = echo.list_experiments(me, limit=2, after=page.next_cursor)
    assert [e.spec.name for e in rest.items] == ["study 0"] and rest.next_cursor is None

    changed = echo.update_experiment(me, created[0].id, crm_spec(repeats=9, name="renamed"))
    assert changed.spec.repeats == 9 and echo.get_experiment(me, created[0].id) == changed
    echo.delete_experiment(me, created[0].id)
    with pytest.raises(echo_ai.NotFoundError):
        echo.get_experiment(me, created[0].id)


def test_specs_can_be_plain_dicts(echo: Echo, me: Principal) -> None:
    spec = crm_spec().to_dict()
    assert spec["targets"][0] == {"provider": "simulated", "model": "sim-default"}
    experiment = echo.create_experiment(me, spec)
    assert experiment.spec == crm_spec()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"prompts": ["  "]}, "spec.prompts[0]"),
        ({"repeats": 0}, "spec.repeats"),
        ({"targets": [{"provider": "openai", "model": "gpt-4o"}]}, "spec.targets"),
        ({"temperature": 3.0}, "spec.temperature"),
    ],
)
def test_invalid_specs_name_the_field_and_write_nothing(echo: Echo, me: Principal, change: dict, field: str) -> None:
    spec = crm_spec().to_dict()
    spec.update(change)
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.create_experiment(me, spec)
    assert info.value.field is not None and info.value.field.startswith(field)
    assert len(echo.list_experiments(me)) == 0


def test_malformed_inputs_are_invalid_input(echo: Echo, me: Principal) -> None:
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.create_experiment(me, {"name": "x"})
    assert info.value.field == "spec" and "missing field" in str(info.value)
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.get_experiment(me, "not-a-uuid")
    assert info.value.field == "experiment_id"
    with pytest.raises(echo_ai.InvalidInputError):
        ExperimentSpec(name="x", prompts=["q"], brands=[], targets=["no-slash"], repeats=1)


def test_other_accounts_see_nothing(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    other = Principal.host(echo.create_account(Principal.admin(), "Other").id)
    with pytest.raises(echo_ai.NotFoundError):
        echo.get_experiment(other, experiment.id)
    with pytest.raises(echo_ai.NotFoundError):
        echo.estimate(other, experiment.id)
    assert len(echo.list_experiments(other)) == 0
    with pytest.raises(echo_ai.NotFoundError):
        echo.get_experiment(me, uuid.uuid4())


def test_scopes_are_checked(echo: Echo, account: echo_ai.Account, experiment: echo_ai.Experiment) -> None:
    reader = Principal.host(account.id, scopes=["experiments:read"])
    assert reader.scopes == ["experiments:read"] and not reader.has("runs:write")
    assert echo.get_experiment(reader, experiment.id) == experiment
    with pytest.raises(echo_ai.PermissionDeniedError):
        echo.create_experiment(reader, crm_spec())
    with pytest.raises(echo_ai.PermissionDeniedError):
        echo.start_run(reader, experiment.id)
    # The operator must name the account before acting inside it.
    with pytest.raises(echo_ai.InvalidInputError, match="must name the account"):
        echo.get_experiment(Principal.admin(), experiment.id)
    assert echo.get_experiment(Principal.admin().acting_for(account.id), experiment.id) == experiment
    with pytest.raises(echo_ai.PermissionDeniedError):
        reader.acting_for(account.id)


def test_estimate_prices_each_target(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    estimate = echo.estimate(me, experiment.id)
    assert estimate.planned_samples == 2 * 2 * 5
    assert [str(t.target) for t in estimate.targets] == ["simulated/sim-default", "simulated/sim-enterprise"]
    assert sum(t.samples for t in estimate.targets) == estimate.planned_samples


def test_providers_from_env_reads_only_set_variables() -> None:
    assert Provider.from_env({}) == []
    providers = Provider.from_env({"OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "  "})
    assert [p.id for p in providers] == ["openai"]
    assert "sk-test" not in repr(providers[0])
    with pytest.raises(echo_ai.EchoError):
        Provider.from_env({"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "not a url"})


def test_simulated_provider_validates_its_config() -> None:
    sim = Provider.simulated([echo_ai.SimulatedBrand("Acme", 0.4), {"name": "Globex", "mention_probability": 0.2}])
    assert sim.id == "simulated"
    assert sim.true_visibility("any", "Acme") == pytest.approx(0.4)
    assert sim.true_visibility("any", "Nobody") is None
    with pytest.raises(echo_ai.InvalidInputError) as info:
        Provider.simulated([{"name": "Acme", "mention_probability": 1.5}])
    assert info.value.field is not None and "mention_probability" in info.value.field
    with pytest.raises(echo_ai.InvalidInputError, match="not a simulated provider"):
        Provider.from_env({"OPENAI_API_KEY": "sk-test"})[0].true_visibility("gpt-4o", "Acme")
