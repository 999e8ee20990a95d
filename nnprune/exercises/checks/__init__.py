"""One module of checks per chapter (``ch1`` ... ``ch8``, ``appc``); see :mod:`..harness`."""
