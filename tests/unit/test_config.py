"""Settings and program rules: the example is valid; each kind of mistake names file, line and field."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from config import ConfigError, load_settings

EXAMPLE = Path(__file__).parents[2] / "config" / "examples" / "program.yaml"


def broken(tmp_path: Path, old: str, new: str) -> list[str]:
    text = EXAMPLE.read_text()
    assert old in text, old
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return info.value.problems


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(EXAMPLE.read_text().splitlines(), 1) if text in line)


def test_example_is_valid(workdir: Path) -> None:
    settings = load_settings(EXAMPLE)
    rules = settings.program
    assert [t.name for t in rules.tiers] == ["registered", "silver", "gold", "platinum"]
    assert rules.commission.rates["gold"]["software"] == Decimal("0.10")
    assert rules.field_rule("partner", "tier") == "from:hub"
    assert rules.field_rule("partner", "street") == "two_way"
    assert rules.tier_for(Decimal("1000000")) == "gold"


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("software: 0.10", "software: -0.10", "program.commission.rates.gold.software", "greater than or equal"),
        ("min_revenue: 1000000}", "min_revenue: 100000}", "program.tiers", "out of order"),
        ("  currency: USD\n  # Tiers", "  currency: USX\n  # Tiers", "program.currency", "unknown currency"),
        ("tier: from:hub", "tier: sideways", "program.field_rules.partner.tier", "unknown field rule"),
        ("tier: from:hub", "tier: from:sap", "program.field_rules.partner.tier", "unknown system"),
        ("kind: netsuite ", "kind: sap ", "erp.kind", "netsuite"),
        ("lag_minutes: 30", "lag_minutes: soon", "alerts.lag_minutes", "integer"),
        ("auto_merge: 0.92", "auto_merge: 0.5", "program.dedup", "below auto_merge"),
        ("{from_revenue: 500000, rate", "{from_revenue: 600000, rate", "program.rebates", "gap"),
        ("policy: first_to_register", "policy: loudest", "program.registration.policy", "first_to_register"),
    ],
)
def test_each_mistake_is_named_with_its_line(
    workdir: Path, tmp_path: Path, old: str, new: str, field: str, reason: str
) -> None:
    problems = broken(tmp_path, old, new)
    match = [p for p in problems if f": {field}: " in p]
    assert match, problems
    assert reason in match[0]
    file, line = re.match(r"^(.+?):(\d+): ", match[0]).groups()  # type: ignore[union-attr]
    assert file.endswith("broken.yaml")
    assert int(line) == line_of(old.split("\n")[0].strip().split(":")[0] + ":") or int(line) > 1


def test_every_problem_is_listed(workdir: Path, tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("database_url: 3\nprogram:\n  currency: XXY\n  trailing_months: 0\nbogus: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    text = "\n".join(info.value.problems)
    assert f"{path}:3: program.currency: unknown currency" in text
    assert f"{path}:4: program.trailing_months:" in text
    assert f"{path}:5: bogus: Extra inputs are not permitted" in text
    assert f"{path}:1: database_url:" in text


def test_yaml_syntax_error_names_line(workdir: Path, tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text("program:\n  currency: USD\n tiers: [\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert re.match(rf"^{re.escape(str(path))}:\d+: yaml: ", info.value.problems[0])


def test_environment_overrides_file_and_secrets_stay_secret(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTNERSYNC_SALESFORCE__ACCESS_TOKEN", "00Dxx!supersecret")
    monkeypatch.setenv("PARTNERSYNC_DATABASE_URL", "sqlite:///other.db")
    settings = load_settings(EXAMPLE)
    assert settings.database_url == "sqlite:///other.db"
    assert settings.salesforce.username == "integration@example.com"
    token = settings.salesforce.access_token
    assert token is not None and token.get_secret_value() == "00Dxx!supersecret"
    assert "supersecret" not in repr(settings) and "supersecret" not in str(settings.model_dump())


def test_bad_environment_value_names_the_variable(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNERSYNC_ALERTS__FAILING_RUNS", "0")
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert info.value.problems == [
        "env PARTNERSYNC_ALERTS__FAILING_RUNS: alerts.failing_runs: Input should be greater than 0"
    ]


def test_config_file_from_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNERSYNC_CONFIG", str(EXAMPLE))
    assert load_settings().salesforce.username == "integration@example.com"
