"""Decisions: the planner's questions answered by optimisation verified with simulation.

``space`` (what may vary), ``optimize`` (seeded TPE search + ranking-and-selection, simulator-agnostic),
``study`` (the simulator as an evaluator on the experiment executors, and the output folder).
"""
