"""The grading kernel: an IPython kernel locked down before a learner's first cell runs.

Started by the grader, inside the sandbox, as
``python -m autograder.sandbox.kernel --scratch DIR [--seed-from DIR] --readable DIR... -f CONNECTION_FILE``.
It copies the submission's files into its scratch folder (a size-limited tmpfs of its own), opens the
kernel's sockets, installs the guard and starts serving cells.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.sandbox.kernel")
    parser.add_argument("--scratch", required=True, help="the working folder, the only one that may be written")
    parser.add_argument("--seed-from", help="copy this folder's contents into the scratch folder first")
    parser.add_argument("--readable", action="append", default=[], help="a folder that may be read")
    parser.add_argument("-f", dest="connection_file", required=True)
    args = parser.parse_args(argv)
    if args.seed_from:  # (entry by entry: the scratch folder itself is the sandbox's, not this user's, to chmod)
        for entry in os.scandir(args.seed_from):
            target = os.path.join(args.scratch, entry.name)
            if entry.name == ".course-grader":  # the grader's own marker stays outside
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.copytree(entry.path, target)
            elif entry.is_file(follow_symlinks=False):
                shutil.copy(entry.path, target)
    os.chdir(args.scratch)

    import matplotlib  # noqa: F401  (loaded before the guard: it reads its own configuration)
    import numpy  # noqa: F401
    from ipykernel.kernelapp import IPKernelApp

    from .guard import install_guard, snapshot

    app = IPKernelApp.instance()
    app.initialize(["-f", args.connection_file, "--HistoryManager.hist_file=:memory:"])
    # exit() and quit() end the kernel in the cell that calls them, not some cells later as IPython would,
    # so the grader knows which cell ended it.
    app.shell.ask_exit = lambda: os._exit(0)
    install_guard(writable=(args.scratch, "/dev/null"), readable=tuple(args.readable))
    snapshot()
    app.start()


if __name__ == "__main__":
    main(sys.argv[1:])
