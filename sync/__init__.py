"""The engine: store, pull/push, field rules, outbox, cursors, and the rules run on the hub."""
