"""``python -m agora``: the `agora` command line (:mod:`reports.cli`) run as a module."""
