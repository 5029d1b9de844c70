"""Entry point placeholder: this command is not built yet."""

import sys


def main(argv: list[str] | None = None) -> int:
    """Say the command is not available yet and exit non-zero."""
    print("srgan-eval: not available yet in this version", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
