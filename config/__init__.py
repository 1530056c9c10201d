"""Settings and program rules: the only place configuration is read and validated."""

from config.errors import ConfigError
from config.loader import load_settings
from config.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings"]
