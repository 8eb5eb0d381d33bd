"""Case handling on Prefect. See README.md."""
