"""Models, the document store and (later) the ticket engine.

Views, the API and the CLI call into this package; no rule lives in a view.
"""
