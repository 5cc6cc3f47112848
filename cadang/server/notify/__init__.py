"""Notifications by e-mail (SMTP) and webhook (JSON POST); every delivery is logged."""
