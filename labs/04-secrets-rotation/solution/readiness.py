"""Reference solution of the Lab 04 exercise: a readiness probe that checks the database."""


def readiness() -> dict:
    """A strategic-merge patch for Deployment myapp: the probe asks /healthz/db instead of /healthz."""
    return {"spec": {"template": {"spec": {"containers": [{
        "name": "app",
        "readinessProbe": {"httpGet": {"path": "/healthz/db", "port": 8080}, "periodSeconds": 1,
                           "failureThreshold": 2},
    }]}}}}
