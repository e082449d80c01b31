"""``python -m stakegate.cli``: the same command as the installed ``stakegate``."""

from stakegate.cli.main import main

main()
