"""`python -m envgen`: the same as the `envgen` command."""

from envgen.cli import main

if __name__ == "__main__":
    main()
