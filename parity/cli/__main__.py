"""`python -m parity.cli`."""

from parity.cli import main

main()
