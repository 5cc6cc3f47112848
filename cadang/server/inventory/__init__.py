"""The plan as the server holds it: the inventory of applications and the office's settings."""
