"""The life of a rule: block (the marker block), identity, merge, tombstones, retire, efficacy,
propose (findings → plan), plan (the plan file) and render (a plan as text)."""
