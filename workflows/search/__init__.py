"""Full-text search over what a reader may see (docs/search.md)."""
