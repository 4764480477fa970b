"""Micro-benchmarks that compare formbuilder's generated forms with hand-written equivalents."""
