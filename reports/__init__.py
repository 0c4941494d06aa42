"""Records to figures, Markdown and HTML; the `agora` command line."""
