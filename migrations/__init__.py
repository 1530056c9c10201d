"""Alembic migrations of the program database (run with `partnersync db upgrade`)."""
