"""Reference answer of Lab 04's exercise: the database check as a startup probe.

A startup probe runs only while a container starts: a pod with a bad credential never
becomes Ready (the rollout stalls, the old pods keep serving), and a running pod is never
thrown out of the Service or restarted because the shared database blipped. Readiness
stays on /healthz: is this process able to answer at all.
"""


def probe_patch() -> dict:
    """A strategic-merge patch for Deployment myapp (containers merge by name)."""
    return {"spec": {"template": {"spec": {"containers": [{
        "name": "app",
        "startupProbe": {"httpGet": {"path": "/healthz/db", "port": "http"}, "periodSeconds": 1,
                         "failureThreshold": 30},
    }]}}}}
