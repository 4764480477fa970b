"""The knowledge base (issue 23, docs/kb.md): articles and their lifecycle (``articles``), their search
(``search``), suggestions and ticket solutions (``suggest``, ``solutions``) and the public help pages (``public``)."""
