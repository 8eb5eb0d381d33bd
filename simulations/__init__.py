"""Analysis of procedures: critical path, reforms, Monte-Carlo, capacity. See README.md."""
