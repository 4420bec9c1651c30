"""``python -m sim`` works like ``shangou``."""

from sim.cli import main

if __name__ == "__main__":
    main()
