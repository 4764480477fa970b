"""Models, the document store, the ticket engine and the subscribers to its events.

Views, the API and the CLI call into this package; no rule lives in a view. The engine
announces each action on :data:`workflows.tickets.events.ticket_acted`; side effects
(notifications, webhooks, customer e-mail, automation) subscribe in
:func:`workflows.tickets.events.connect_defaults`.
"""
