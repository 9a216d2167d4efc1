"""Which modifiers apply to a code, with the HCPCS file's descriptions and the dated rules (package data)."""

from __future__ import annotations

from datetime import date

from ..data import read_table
from .model import ModifierFacts, Rule
from .snapshot import Snapshot

__all__ = ["applicable_modifiers", "dated_rules"]


def _applies(applies_to: str, is_drug: bool, has_opps: bool) -> bool:
    if applies_to.endswith("drug"):
        return is_drug
    return applies_to == "hospital outpatient" and has_opps


def applicable_modifiers(snapshot: Snapshot, is_drug: bool, has_opps: bool) -> list[ModifierFacts]:
    result = []
    for rule in read_table("modifier_rules.csv"):
        if not _applies(rule["applies_to"], is_drug, has_opps):
            continue
        latest = snapshot.modifiers.get(rule["modifier"], [])
        row = latest[-1].row if latest else None
        result.append(
            ModifierFacts(
                modifier=rule["modifier"],
                description=row["long_description"] if row else None,
                when_to_use=rule["when_to_use"],
                effective_from=date.fromisoformat(rule["effective_from"]) if rule["effective_from"] else None,
                terminated=row["termination_date"] if row else None,
                source=rule["source"],
            )
        )
    return result


def dated_rules(modifiers: list[ModifierFacts]) -> list[Rule]:
    """Rules with an effective date that apply to the code, oldest first; terminated modifiers excluded."""
    rules = [
        Rule(m.modifier, m.effective_from, m.when_to_use, m.source)
        for m in modifiers
        if m.effective_from and m.terminated is None
    ]
    return sorted(rules, key=lambda r: r.effective_from)
