"""One module per ``deploy.py`` command: ``HELP``, ``add_arguments(parser)``, ``run(args, settings) -> int``."""
