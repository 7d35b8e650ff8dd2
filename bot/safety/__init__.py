"""The safety screen: decides, before any answer, whether a message goes to the clinic's staff."""
