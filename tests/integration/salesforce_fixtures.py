"""A live Salesforce sandbox over HTTPS and settings that point the connector at it."""

from collections.abc import Iterator
from typing import Any

import pytest

from config.systems import SalesforceSettings
from connectors.salesforce import SalesforceConnector
from sandbox.salesforce import SalesforceSandbox


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sb:
        yield sb


def settings_for(sb: SalesforceSandbox, **overrides: Any) -> SalesforceSettings:
    """Token auth against the sandbox, small query batches and fast retries (tests stay quick)."""
    values: dict[str, Any] = {"instance_url": sb.url, "access_token": sb.access_token, "login_url": sb.url,
                              "verify_tls": sb.ca_file, "query_page_size": 200, "retry_attempts": 2,
                              "bulk_poll_seconds": 0.01}
    values.update(overrides)
    return SalesforceSettings.model_validate(values)


def connector_for(sb: SalesforceSandbox, **overrides: Any) -> SalesforceConnector:
    return SalesforceConnector(settings_for(sb, **overrides))
