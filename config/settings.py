"""Service settings: env `PARTNERSYNC_*` (nested with `__`) over an optional YAML file."""

from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.program import ProgramRules
from config.systems import ErpSettings, HubSpotSettings, SalesforceSettings

yaml_values: ContextVar[dict[str, Any] | None] = ContextVar("yaml_values", default=None)


class AlertSettings(BaseModel):
    """Thresholds of the ops alert rules (see docs/runbook.md)."""

    model_config = ConfigDict(extra="forbid")

    lag_minutes: int = Field(default=30, gt=0)
    error_rate_percent: float = Field(default=5.0, ge=0, le=100)
    failing_runs: int = Field(default=3, gt=0)
    api_usage_percent: float = Field(default=80.0, ge=0, le=100)


class SyncSettings(BaseModel):
    """Engine tuning. `lookback_seconds` re-reads that much before the cursor: systems stamp modified
    times to the second and commit out of order, so a change can land behind a cursor; re-read
    records that did not change are recognised as echoes and cost nothing but the read."""

    model_config = ConfigDict(extra="forbid")

    lookback_seconds: int = Field(default=5, ge=0, le=3600)
    # A pull refreshes PostgreSQL's planner statistics after applying this many records (0: never):
    # without them a lookup by a list of ids is planned as a scan, and autovacuum may be off or behind.
    analyze_every_records: int = Field(default=20_000, ge=0)


class WebSettings(BaseModel):
    """`partnersync serve`. With `username` and `password` set the dashboard asks for them (HTTP basic);
    without them it is open and `serve` only binds a loopback host. `card_secret` signs the CRM card
    links and the dashboard's form tokens."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    card_secret: SecretStr = SecretStr("change-me")
    public_url: str | None = None
    username: SecretStr | None = None
    password: SecretStr | None = None


class _YamlSource(PydanticBaseSettingsSource):
    """Values read from the YAML file by `config.loader`, below the environment in priority."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return (yaml_values.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(yaml_values.get() or {})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PARTNERSYNC_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    database_url: str = "sqlite:///partnersync.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: str = "INFO"
    salesforce: SalesforceSettings = SalesforceSettings()
    hubspot: HubSpotSettings = HubSpotSettings()
    erp: ErpSettings = ErpSettings()
    alerts: AlertSettings = AlertSettings()
    sync: SyncSettings = SyncSettings()
    web: WebSettings = WebSettings()
    program: ProgramRules = ProgramRules()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))
