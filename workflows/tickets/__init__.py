"""A ticket's life: the engine and its actions, who may read and act, assignment, numbers, SLA, events, notes and
files, tags, ratings.
"""
