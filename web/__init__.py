"""Blueprints of the browser-facing areas, one module per area."""
