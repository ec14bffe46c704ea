"""The hidden suites, one per exercise: ``test_NN_<topic>.py`` (see docs/writing-suites.md)."""
