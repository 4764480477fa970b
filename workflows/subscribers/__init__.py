"""What an action sets off, each a subscriber of the engine's event: in-app notifications, webhooks, customer
mail, automation rules; and the worker that delivers.
"""
