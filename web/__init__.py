"""Starlette app: /healthz, /metrics, the ops dashboard, HubSpot webhooks and the CRM card."""
