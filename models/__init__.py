"""Statistical core of srb-surveil: pure functions, arrays in, new arrays out.

Nothing in this package reads files, the clock, configuration or a global random
state; seeds and settings are arguments.
"""
