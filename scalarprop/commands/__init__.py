"""Sub-commands of the ``scalarprop`` command line, one module each."""
