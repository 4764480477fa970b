"""Where data lives: the database binding, models and migrations, prepared queries, uploads, settings, the audit
log, backup.
"""
