"""Names Lab 04's parts agree on (light: the CLI parser reads them without importing the clients)."""

SECRET_ID = "myapp/db-credentials"  # the Secrets Manager secret the lab rotates
LAB_FILE = "secrets-lab.json"  # in the run directory: how `labkit secrets` finds the running lab
