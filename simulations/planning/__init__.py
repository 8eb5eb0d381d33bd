"""Planning a reform: critical path, metrics, levers, scenarios, Monte-Carlo, advice, Gantt.

Procedure in, result out; see ``simulations/README.md``.
"""
