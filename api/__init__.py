"""The outer layer: HTTP API, web pages and the ``onething`` command line.

Importing this package is cheap: the web stack and Prefect load only inside the
commands that need them.
"""
