"""Finite differences, the oracle every engine answers to: :mod:`.testing` for any function,
:mod:`.gradcheck` a thin adapter for networks."""
