"""One module per `agora` subcommand, each exposing ``register(subparsers)``."""
