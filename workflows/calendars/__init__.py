"""Working-time calendars (format 2's third document kind): ``worktime`` does the arithmetic,
``store`` keeps the documents and answers a code's :class:`~workflows.calendars.worktime.WorkTime`."""
