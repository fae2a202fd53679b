"""Real servers the tests start: Prometheus, Alertmanager, vmagent, a webhook."""
