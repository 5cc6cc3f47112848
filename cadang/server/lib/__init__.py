"""Pure helpers of the server, each with its own tests."""
