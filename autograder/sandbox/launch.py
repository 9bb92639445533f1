"""Become a sandboxed process: join its cgroups, set its resource limits, then exec the sandbox.

The grader starts every process that runs a learner's code as::

    python -I -S .../autograder/sandbox/launch.py [--cgroup DIR]... [--limit NAME=VALUE]... -- COMMAND...

It uses the standard library only and no site packages, so it costs milliseconds. The command (normally
``bwrap``) replaces it, keeping its process id; everything the command starts inherits the cgroups and
limits, and nothing inside can leave them.
"""

import os
import resource
import sys


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: launch.py [--cgroup DIR]... [--limit NAME=VALUE]... -- COMMAND...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    pid = str(os.getpid())
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag == "--cgroup":
            with open(os.path.join(value, "cgroup.procs"), "w") as procs:
                procs.write(pid)
        elif flag == "--limit":
            name, number = value.split("=")
            limit = int(number)
            hard = limit + 5 if name == "CPU" else limit  # a CPU overrun gets SIGXCPU first, then SIGKILL
            resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (limit, hard))
        else:
            sys.exit(f"launch.py: unknown option {flag}")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
