"""Connection settings per external system. Every base URL can be overridden (sandbox, tests)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SalesforceSettings(_Section):
    """Auth by token, by username/password/security token, or by JWT bearer (consumer key + key)."""

    enabled: bool = True
    instance_url: str | None = None
    login_url: str = "https://login.salesforce.com"
    domain: str = "login"
    api_version: str = "61.0"
    access_token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: str | None = None
    private_key: SecretStr | None = None
    account_object: str = "Account"
    opportunity_object: str = "Opportunity"
    external_id_field: str = "PartnerSync_Id__c"
    products_mode: Literal["line_items", "multi_select"] = "multi_select"
    products_field: str = "PartnerSync_Products__c"
    partner_filter: str = "IsPartner = true"
    query_page_size: int = 2000
    bulk_threshold: int = 10_000
    verify_tls: bool | str = True


class HubSpotSettings(_Section):
    """Private-app token; `client_secret` verifies webhook v3 signatures."""

    enabled: bool = True
    base_url: str = "https://api.hubapi.com"
    access_token: SecretStr | None = None
    client_secret: SecretStr | None = None
    id_property: str = "partnersync_id"
    property_group: str = "partnersync"
    search_page_size: int = 200
    batch_size: int = 100


class NetSuiteSettings(_Section):
    """Token-based auth (OAuth 1.0a TBA, HMAC-SHA256, realm = account id).

    `expense_account`, `subsidiary` and the values of `currencies` are NetSuite internal ids;
    `timezone` is the integration user's Time Zone preference, in which SuiteQL shows datetimes.
    """

    account_id: str | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    token_id: SecretStr | None = None
    token_secret: SecretStr | None = None
    expense_account: str = "6100"
    subsidiary: str | None = None
    currencies: dict[str, str] = {"USD": "1"}
    timezone: str = "UTC"
    page_size: int = Field(default=1000, ge=1, le=1000)


class OdooSettings(_Section):
    """JSON-RPC `execute_kw` with a user's API key."""

    database: str | None = None
    username: str | None = None
    api_key: SecretStr | None = None
    expense_account_code: str = "600000"
    journal_code: str = "BILL"
    page_size: int = Field(default=500, ge=1, le=10_000)


class ErpSettings(_Section):
    """`base_url` defaults to the account's SuiteTalk domain for NetSuite; Odoo needs it set."""

    enabled: bool = True
    kind: Literal["netsuite", "odoo"] = "netsuite"
    base_url: str | None = None
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=5, ge=1)
    netsuite: NetSuiteSettings = NetSuiteSettings()
    odoo: OdooSettings = OdooSettings()
