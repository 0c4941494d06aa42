"""Studies: one module per `agora reproduce` study, each with ``run(out, *, seeds, seed, quick) -> dict``."""
