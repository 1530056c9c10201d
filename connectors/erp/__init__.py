"""ERP connectors: partners as vendors, payouts as vendor bills, payment status back."""

from config.systems import ErpSettings
from connectors.base import Connector


def erp_connector(settings: ErpSettings) -> Connector:
    """The connector of the configured ERP (`erp.kind`)."""
    if settings.kind == "odoo":
        from connectors.erp.odoo import OdooConnector

        return OdooConnector(settings)
    from connectors.erp.netsuite import NetSuiteConnector

    return NetSuiteConnector(settings)
