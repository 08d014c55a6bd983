"""Helpers shared by the tests."""

from __future__ import annotations

from echo_ai import ExperimentSpec, Provider


def crm_spec(repeats: int = 5, name: str = "CRM for startups") -> ExperimentSpec:
    return ExperimentSpec(
        name=name,
        prompts=["What is the best CRM for a startup?", "Which CRM should a small sales team use?"],
        brands=Provider.crm_demo().brand_specs("HubSpot"),
        targets=["simulated/sim-default", "simulated/sim-enterprise"],
        repeats=repeats,
    )
