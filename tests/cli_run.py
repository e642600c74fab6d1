"""The ``impasto`` command line called in-process by the tests: ``run_main`` and the argv of a stylize run."""

from __future__ import annotations


def run_main(argv, capsys) -> tuple[int, str, str]:
    """Call the CLI in-process; return (exit code, stdout, stderr).

    Items of ``argv`` may be paths or numbers (they are passed as strings). argparse reports usage errors by
    raising SystemExit from ``parse_args``; that is turned into the exit code the shell would see.
    """
    from impasto import cli

    try:
        rc = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return rc, out, err


def stylize_argv(content, style, output, *options) -> list:
    """The argv of ``impasto stylize CONTENT STYLE -o OUTPUT OPTIONS...`` (items may be paths or numbers)."""
    return ["stylize", content, style, "-o", output, *options]
