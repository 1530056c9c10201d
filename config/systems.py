"""Connection settings per external system. Every base URL can be overridden (sandbox, tests)."""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from config.types import Currency


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def api_name(value: str) -> str:
    """Object and field names go into SOQL verbatim, so only API-name characters are accepted."""
    if not _API_NAME.match(value):
        raise ValueError(f"not a Salesforce API name: {value!r} (letters, digits and _ only)")
    return value


class SalesforceFields(_Section):
    """API names of the fields partnersync reads and writes; custom ones default to `PartnerSync_*__c`."""

    name: str = "Name"
    website: str = "Website"
    phone: str = "Phone"
    street: str = "BillingStreet"
    city: str = "BillingCity"
    postal_code: str = "BillingPostalCode"
    country: str = "BillingCountry"
    tax_id: str = "PartnerSync_Tax_Id__c"
    tier: str = "PartnerSync_Tier__c"
    partner_account: str = "PartnerAccountId"
    amount: str = "Amount"
    currency: str = "CurrencyIsoCode"
    stage: str = "StageName"
    close_date: str = "CloseDate"
    owner: str = "OwnerId"
    customer_name: str = "PartnerSync_Customer_Name__c"
    customer_domain: str = "PartnerSync_Customer_Domain__c"
    customer_country: str = "PartnerSync_Customer_Country__c"
    registration_status: str = "PartnerSync_Registration_Status__c"
    conflict_reason: str = "PartnerSync_Conflict_Reason__c"
    expires_at: str = "PartnerSync_Registration_Expires__c"
    incentive_amount: str = "PartnerSync_Incentive_Amount__c"
    incentive_status: str = "PartnerSync_Incentive_Status__c"
    accrued_ytd: str = "PartnerSync_Accrued_YTD__c"
    paid_ytd: str = "PartnerSync_Paid_YTD__c"
    last_payout_at: str = "PartnerSync_Last_Payout__c"

    @field_validator("*")
    @classmethod
    def _api_name(cls, value: str) -> str:
        return api_name(value) if value else value


class SalesforceSettings(_Section):
    """Auth by token, by username/password/security token, or by JWT bearer (consumer key + key).

    `partner_filter` / `deal_filter` are SOQL conditions written by the operator (trusted config,
    ANDed to every pull); every value partnersync itself puts into a query goes through format_soql.
    `verify_tls` is True, False, or the path of a CA bundle (the sandbox's `ca_file`).
    """

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
    deal_filter: str = ""
    query_page_size: int = Field(default=2000, ge=200, le=2000)
    push_batch_size: int = Field(default=200, ge=1, le=200)
    bulk_threshold: int = Field(default=10_000, ge=1)
    bulk_poll_seconds: float = Field(default=2.0, gt=0)
    bulk_timeout_seconds: float = Field(default=600.0, gt=0)
    timeout_seconds: float = Field(default=60.0, gt=0)
    retry_attempts: int = Field(default=5, ge=1)
    default_currency: Currency = "USD"
    open_stage: str = "Prospecting"
    won_stage: str = "Closed Won"
    lost_stage: str = "Closed Lost"
    fields: SalesforceFields = SalesforceFields()
    verify_tls: bool | str = True

    @field_validator("account_object", "opportunity_object", "external_id_field", "products_field")
    @classmethod
    def _api_name(cls, value: str) -> str:
        return api_name(value)

    def object_for(self, entity: str) -> str:
        """The sObject an entity lives in (`partner` -> Account, `deal` -> Opportunity by default)."""
        objects = {"partner": self.account_object, "deal": self.opportunity_object}
        if entity not in objects:
            raise ValueError(f"salesforce has no entity {entity!r}; expected one of {', '.join(objects)}")
        return objects[entity]

    def read_fields(self, entity: str) -> list[str]:
        """Fields a pull selects, besides Id, SystemModstamp and IsDeleted."""
        f = self.fields
        if entity == "partner":
            names = [f.name, f.website, f.phone, f.street, f.city, f.postal_code, f.country, f.tax_id, f.tier]
        else:
            names = [f.name, f.partner_account, f.amount, f.stage, f.close_date, f.owner, "CreatedDate",
                     f.customer_name, f.customer_domain, f.customer_country, f.registration_status,
                     f.conflict_reason, f.expires_at]
            names += [f.currency] if f.currency else []
            names += [self.products_field] if self.products_mode == "multi_select" else []
        return [self.external_id_field, *names]

    def write_only_fields(self, entity: str) -> list[str]:
        """Fields partnersync writes but never reads back (incentive figures live in the hub)."""
        f = self.fields
        return [f.incentive_amount, f.incentive_status] if entity == "deal" else [f.accrued_ytd, f.paid_ytd,
                                                                                     f.last_payout_at]


class HubSpotSettings(_Section):
    """Private-app token; `client_secret` verifies webhook v3 signatures.

    `archived_every_seconds`: how often an incremental pull also lists archived records (deletions);
    a full pull always does.
    """

    enabled: bool = True
    base_url: str = "https://api.hubapi.com"
    access_token: SecretStr | None = None
    client_secret: SecretStr | None = None
    id_property: str = "partnersync_id"
    property_group: str = "partnersync"
    search_page_size: int = 200
    batch_size: int = 100
    archived_every_seconds: int = Field(default=300, ge=0)


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
