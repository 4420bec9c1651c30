"""The discrete-event engine (the only place SimPy is imported). records.py is its output contract."""
