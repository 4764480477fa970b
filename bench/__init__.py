"""Benchmarks (``python -m bench``): generated forms, the engine, list and report scaling, HTTP throughput."""
