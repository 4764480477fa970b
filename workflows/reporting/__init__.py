"""Reading many tickets at once: ticket lists, the dashboard, exports and the reports."""
